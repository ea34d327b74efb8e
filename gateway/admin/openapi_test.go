package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/spec"
)

// openAPIOperations fetches the document without a token and returns
// "METHOD /path/{param}" → the role it states.
func openAPIOperations(t *testing.T, f *apiFixture) map[string]string {
	t.Helper()
	doc := fetchOpenAPI(t, f)
	out := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			out[strings.ToUpper(method)+" "+path] = op.(map[string]any)["x-role"].(string)
		}
	}
	return out
}

func fetchOpenAPI(t *testing.T, f *apiFixture) map[string]any {
	t.Helper()
	resp, err := http.Get(f.srv.URL + admin.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s", admin.OpenAPIPath, resp.StatusCode, raw)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var param = regexp.MustCompile(`\{[a-z]+\}`)

// matchOperation finds the documented operation a concrete path is an
// instance of ({name} matches one segment).
func matchOperation(ops map[string]string, method, path string) (string, bool) {
	for op := range ops {
		m, p, _ := strings.Cut(op, " ")
		pattern := "^" + param.ReplaceAllString(p, `[^/]+`) + "$"
		if m == method && regexp.MustCompile(pattern).MatchString(path) {
			return op, true
		}
	}
	return "", false
}

// The document is OpenAPI 3.1, every operation has an id, responses and
// declared path parameters, and every $ref resolves.
func TestOpenAPIDocument(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	doc := fetchOpenAPI(t, f)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"Config", "Route", "Upstream", "Consumer", "Problem", "Diff", "CachePurge", "CachePurged"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("components/schemas has no %s", name)
		}
	}
	// The model's schemas follow the Go types: a route has its lifecycle
	// and composite members, a Duration is a string.
	route := schemas["Route"].(map[string]any)["properties"].(map[string]any)
	for _, member := range []string{"name", "path_prefix", "upstream", "variants", "lifecycle", "composite", "rate_limit", "auth"} {
		if _, ok := route[member]; !ok {
			t.Errorf("Route schema lacks %q", member)
		}
	}
	timeout := route["timeout"].(map[string]any)
	if r, ok := timeout["$ref"].(string); ok {
		timeout = schemas[strings.TrimPrefix(r, "#/components/schemas/")].(map[string]any)
	}
	if ty := timeout["type"]; ty != "string" {
		t.Errorf("Route.timeout type %v", ty)
	}
	ids := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		params := param.FindAllString(path, -1)
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			if len(op["responses"].(map[string]any)) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			declared := map[string]bool{}
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				if pm := p.(map[string]any); pm["in"] == "path" {
					declared["{"+pm["name"].(string)+"}"] = true
				}
			}
			for _, p := range params {
				if !declared[p] {
					t.Errorf("%s %s: path parameter %s not declared", method, path, p)
				}
			}
		}
	}
	// A write names the store refusing it as too large.
	put := doc["paths"].(map[string]any)["/admin/routes/{name}"].(map[string]any)["put"].(map[string]any)
	if _, ok := put["responses"].(map[string]any)["413"]; !ok {
		t.Error("PUT /admin/routes/{name} does not document 413")
	}
	// The cache purge documents its refusals.
	purge := doc["paths"].(map[string]any)["/admin/cache/purge"].(map[string]any)["post"].(map[string]any)
	for _, code := range []string{"200", "400", "422", "501"} {
		if _, ok := purge["responses"].(map[string]any)[code]; !ok {
			t.Errorf("POST /admin/cache/purge does not document %s", code)
		}
	}
	// Every $ref names a schema the document has.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				name, found := strings.CutPrefix(r, "#/components/schemas/")
				if _, ok := schemas[name]; !found || !ok {
					t.Errorf("$ref %s does not resolve", r)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
}

// The diff of a revision names each changed field by its JSON pointer;
// routes are matched by name, so an inserted route is one addition.
func TestRevisionDiff(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	tag := f.etag()
	if a := f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","timeout":"2s"}`); a.code != 201 {
		t.Fatalf("put: %d %s", a.code, a.raw)
	}
	if a := f.do("operator", "PUT", "/admin/routes/x", `"2"`, `{"path_prefix":"/x","upstream":"b","timeout":"3s"}`); a.code != 200 {
		t.Fatalf("replace: %d %s", a.code, a.raw)
	}
	a := f.do("viewer", "GET", "/admin/revisions/3/diff", "", "")
	if a.code != 200 {
		t.Fatalf("diff: %d %s", a.code, a.raw)
	}
	changes := a.body["changes"].([]any)
	if len(changes) != 1 {
		t.Fatalf("changes %s", a.raw)
	}
	c := changes[0].(map[string]any)
	if c["op"] != "replace" || c["path"] != "/routes/1/timeout" || c["old"] != "2s" || c["new"] != "3s" {
		t.Fatalf("change %v", c)
	}
	// From 1 to 3: the route was added.
	a = f.do("viewer", "GET", "/admin/revisions/3/diff?from=1", "", "")
	changes = a.body["changes"].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["op"] != "add" || changes[0].(map[string]any)["path"] != "/routes/1" {
		t.Fatalf("from 1: %s", a.raw)
	}
	// And back: what a rollback to 1 would do, shown before doing it.
	a = f.do("viewer", "GET", "/admin/revisions/1/diff?from=3", "", "")
	changes = a.body["changes"].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["op"] != "remove" {
		t.Fatalf("to 1 from 3: %s", a.raw)
	}
	if a := f.do("viewer", "GET", "/admin/revisions/99/diff", "", ""); a.code != 404 {
		t.Fatalf("unknown revision: %d", a.code)
	}
	// The audit log filtered by object: the two writes of route x.
	revisions := func(query string) []uint64 {
		var log []admin.Entry
		a := f.do("viewer", "GET", "/admin/revisions"+query, "", "")
		if err := json.Unmarshal([]byte(a.raw), &log); err != nil {
			t.Fatalf("%s: %d %s", query, a.code, a.raw)
		}
		var out []uint64
		for _, e := range log {
			out = append(out, e.Revision)
		}
		return out
	}
	if got := revisions("?object=route/x"); !slices.Equal(got, []uint64{3, 2}) {
		t.Fatalf("object filter: %v", got)
	}
	if got := revisions("?since=2999-01-01T00:00:00Z"); len(got) != 0 {
		t.Fatalf("since filter: %v", got)
	}
	if a := f.do("viewer", "GET", "/admin/revisions?since=yesterday", "", ""); a.code != 400 {
		t.Fatalf("bad since: %d", a.code)
	}
	if a := f.do("viewer", "GET", "/admin/whoami", "", ""); a.body["role"] != "viewer" || a.body["name"] != "viewer-bot" {
		t.Fatalf("whoami: %s", a.raw)
	}
}

// Options.Check runs on the candidate after validation: what only building
// it finds is refused like a validation error, with its pointer.
func TestWriteRunsCheck(t *testing.T) {
	f := newAPI(t, nil, admin.Options{Check: func(c *spec.Config) error {
		for i, r := range c.Routes {
			if r.Name == "needs-build" {
				return &spec.FieldError{Path: spec.Join(spec.Index("routes", i), "upstream"), Message: "cannot be built here"}
			}
		}
		return nil
	}})
	tag := f.etag()
	a := f.do("operator", "PUT", "/admin/routes/needs-build", tag, `{"path_prefix":"/n","upstream":"b"}`)
	if a.code != 422 || pointers(a) != "/routes/1/upstream" {
		t.Fatalf("check: %d %s", a.code, a.raw)
	}
	if f.etag() != tag {
		t.Fatal("a refused change changed the revision")
	}
}

// A change the state is warned about (route shadowing) is saved, and the
// answer carries each warning with its pointer.
func TestWriteWarnings(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	body := `{"path_prefix":"/secret","upstream":"b","auth":{"methods":["api_key"]}}`
	if a := f.do("operator", "PUT", "/admin/consumers/c1", f.etag(), `{"roles":["r"]}`); a.code != 201 {
		t.Fatalf("consumer: %d %s", a.code, a.raw)
	}
	req, _ := http.NewRequest("PUT", f.srv.URL+"/admin/routes/secret", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s-operator")
	req.Header.Set("If-Match", f.etag())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The seeded route "base" (/base, anonymous) and "secret" share
	// upstream b; an anonymous catch-all makes /SECRET reach it.
	if resp.StatusCode != 201 {
		t.Fatalf("put: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("PUT", f.srv.URL+"/admin/routes/all", strings.NewReader(`{"path_prefix":"/","upstream":"b"}`))
	req.Header.Set("Authorization", "Bearer s-operator")
	req.Header.Set("If-Match", f.etag())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	warnings := resp.Header.Values("Gatescale-Warning")
	if resp.StatusCode != 201 || len(warnings) == 0 || !strings.HasPrefix(warnings[0], "/routes/") || !strings.Contains(strings.Join(warnings, "\n"), "case_insensitive") {
		t.Fatalf("shadowing warning: %d %q", resp.StatusCode, warnings)
	}
}
