package admin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/internal/version"
)

// OpenAPIPath is where the API serves its OpenAPI 3.1 document. It is
// served without a token: it describes the API, it holds no state.
const OpenAPIPath = "/admin/openapi.json"

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI returns the API's OpenAPI 3.1 document, written from the same
// endpoint table that registers the handlers and their roles.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, e := range a.endpoints() {
		op := map[string]any{
			"summary":     e.summary,
			"operationId": operationID(e),
			"description": "Role: " + e.role.String() + " or higher.",
			"x-role":      e.role.String(),
			"security":    []any{map[string]any{"bearer": []any{}}},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(e.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if strings.HasSuffix(e.path, "/diff") {
			params = append(params, map[string]any{"name": "from", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}})
		}
		if e.path == "/admin/revisions" {
			params = append(params, map[string]any{"name": "actor", "in": "query", "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "object", "in": "query", "description": "kind/name, e.g. route/users", "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "since", "in": "query", "schema": map[string]any{"type": "string", "format": "date-time"}})
		}
		if e.write {
			params = append(params,
				map[string]any{"name": "If-Match", "in": "header", "required": true, "description": `The revision the change is based on: "REV" (the ETag of a GET).`, "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "X-Change-Message", "in": "header", "description": "The audit log's message for this change.", "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if e.body != "" {
			op["requestBody"] = map[string]any{"required": e.method == "PUT", "content": map[string]any{
				"application/json": map[string]any{"schema": ref(e.body)}}}
		}
		status := e.status
		if status == 0 {
			status = http.StatusOK
		}
		responses := map[string]any{
			strconv.Itoa(status): map[string]any{"description": http.StatusText(status),
				"content": map[string]any{"application/json": map[string]any{"schema": ref(e.answer)}}},
			"401": problemResponse("No or unknown admin token."),
			"403": problemResponse("The token's role is too low."),
			"429": problemResponse("Too many failed authentications from this address."),
			"503": problemResponse("The admin store cannot be reached; nothing was changed."),
		}
		if e.write {
			ok := responses[strconv.Itoa(status)].(map[string]any)
			ok["headers"] = map[string]any{
				"ETag": map[string]any{"description": "The new revision.", "schema": map[string]any{"type": "string"}},
				"Gatescale-Warning": map[string]any{"description": "One per warning the new state has (route shadowing): POINTER: message.",
					"schema": map[string]any{"type": "string"}},
			}
		}
		if e.method == "PUT" && e.answer == e.body && e.path != "/admin/tokens/{name}" {
			responses["201"] = map[string]any{"description": "Created",
				"content": map[string]any{"application/json": map[string]any{"schema": ref(e.answer)}}}
		}
		if strings.Contains(e.path, "{") {
			responses["404"] = problemResponse("No such object or revision.")
		}
		if e.body != "" || e.write {
			responses["400"] = problemResponse("The body is not valid JSON of this shape (unknown or repeated members are refused, with their pointer).")
		}
		if e.write {
			responses["409"] = problemResponse("A lifecycle transition that makes no sense (e.g. retired → draft).")
			responses["412"] = problemResponse("If-Match does not name the current revision (revision is the current one), or is a weak tag: reload and retry.")
			responses["413"] = problemResponse("The body is over 1 MiB, or the state would not fit the store (an object over Consul's 512 KiB value limit); nothing was changed.")
			responses["422"] = problemResponse("The state this change would make is not valid; errors[] has a JSON pointer per problem.")
			responses["428"] = problemResponse("If-Match is required.")
		}
		if e.path == "/admin/cache/purge" {
			responses["422"] = problemResponse("The prefix is missing, empty, or has a scheme, a query, a space or a control character; errors[] points at /prefix. Nothing was removed.")
			responses["501"] = problemResponse("This gateway's admin API has no response cache to purge.")
		}
		op["responses"] = responses
		if paths[e.path] == nil {
			paths[e.path] = map[string]any{}
		}
		paths[e.path][strings.ToLower(e.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "gatescale admin API",
			"version":     apiVersion(),
			"description": "Manages the state every replica serves: upstreams, routes (APIs and their lifecycle), consumers and their keys, flow limits. See docs/admin.md.",
			"license":     map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "An admin token (Authorization: Bearer SECRET); its role is viewer, operator or admin."}},
			"schemas": schemas(),
		},
	}
}

func operationID(e endpoint) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(e.method))
	for _, part := range strings.Split(strings.TrimPrefix(e.path, "/admin/"), "/") {
		part = strings.Trim(part, "{}")
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func problemResponse(desc string) map[string]any {
	return map[string]any{"description": desc,
		"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
}

func (a *API) serveOpenAPI(w http.ResponseWriter) {
	doc, err := json.MarshalIndent(a.OpenAPI(), "", "  ")
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(doc)
}

// schemas are the document's components/schemas: the API's own bodies
// here, the model's (Config, Route, Upstream, Consumer) from modelSchemas.
func schemas() map[string]any {
	obj := func(required []string, props map[string]any) map[string]any {
		s := map[string]any{"type": "object", "properties": props}
		if required != nil {
			s["required"] = required
		}
		return s
	}
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer", "minimum": 0}
	array := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	entry := obj([]string{"revision", "actor", "time", "summary"}, map[string]any{
		"revision": integer, "actor": str, "time": map[string]any{"type": "string", "format": "date-time"},
		"message": str, "summary": array(str)})
	out := map[string]any{
		"Problem": obj(nil, map[string]any{"type": str, "title": str, "status": integer, "detail": str,
			"errors":   array(obj([]string{"pointer", "detail"}, map[string]any{"pointer": str, "detail": str})),
			"revision": integer}),
		"AuditEntry":   entry,
		"AuditLog":     array(ref("AuditEntry")),
		"RevisionView": map[string]any{"allOf": []any{ref("AuditEntry"), obj(nil, map[string]any{"config": ref("Config")})}},
		"Diff": obj([]string{"from", "to", "changes"}, map[string]any{"from": integer, "to": integer,
			"changes": array(obj([]string{"op", "path"}, map[string]any{
				"op": map[string]any{"enum": []string{"add", "remove", "replace"}}, "path": str, "old": true, "new": true}))}),
		"Rollback":     obj([]string{"rolled_back_to"}, map[string]any{"rolled_back_to": integer}),
		"Deleted":      obj([]string{"deleted"}, map[string]any{"deleted": str}),
		"KeyRequest":   obj(nil, map[string]any{"id": str, "prefix": str}),
		"NewKey":       obj([]string{"id", "key"}, map[string]any{"id": str, "key": str}),
		"TokenRequest": obj([]string{"role"}, map[string]any{"role": map[string]any{"enum": []string{"viewer", "operator", "admin"}}}),
		"Token":        obj([]string{"name", "role"}, map[string]any{"name": str, "role": str, "token": str}),
		"TokenList":    array(ref("Token")),
		"Whoami":       obj([]string{"name", "role"}, map[string]any{"name": str, "role": str}),
		"CachePurge": obj([]string{"prefix"}, map[string]any{"prefix": map[string]any{"type": "string", "minLength": 1,
			"description": `A path prefix ("/users/", on every host) or a host and path prefix ("api.example.com/users/"); "/" purges everything. No scheme, query, spaces or control characters.`}}),
		"CachePurged":  obj([]string{"prefix", "removed"}, map[string]any{"prefix": str, "removed": integer}),
		"UpstreamList": map[string]any{"type": "object", "additionalProperties": ref("Upstream")},
		"RouteList":    array(ref("Route")),
		"ConsumerList": array(ref("Consumer")),
	}
	for name, s := range modelSchemas() {
		out[name] = s
	}
	return out
}

func apiVersion() string {
	if v := version.Get().Version; v != "" {
		return v
	}
	return "dev"
}
