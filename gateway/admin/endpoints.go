package admin

import "net/http"

// endpoint is one operation of the API. The table below is the one place an
// operation is declared: NewAPI registers its handler and role from it, and
// the OpenAPI document is written from it, so the document cannot miss an
// operation or name the wrong role.
type endpoint struct {
	method, path string
	role         Role
	summary      string
	handler      http.HandlerFunc
	// write: the operation changes the state (If-Match required, 412/422).
	write bool
	// body and answer name the schemas of the request and success bodies
	// (components/schemas of the document); "" is none.
	body, answer string
	// status is the success status (default 200).
	status int
}

func (a *API) endpoints() []endpoint {
	es := []endpoint{
		{method: "GET", path: "/admin/config", role: Viewer, summary: "The whole state; its revision is the ETag.", handler: a.getConfig, answer: "Config"},
		{method: "GET", path: "/admin/revisions", role: Viewer, summary: "The audit log, newest first; filters: ?actor=NAME, ?object=route/NAME (revisions that touched it), ?since=RFC3339.", handler: a.listRevisions, answer: "AuditLog"},
		{method: "GET", path: "/admin/revisions/{n}", role: Viewer, summary: "One audit entry and the state written at that revision.", handler: a.getRevision, answer: "RevisionView"},
		{method: "GET", path: "/admin/revisions/{n}/diff", role: Viewer, summary: "What changed from revision ?from= (default n-1) to revision n, field by field (JSON pointers).", handler: a.diff, answer: "Diff"},
		{method: "POST", path: "/admin/rollback/{n}", role: Admin, summary: "Write the state of revision n as a new revision.", handler: a.rollback, write: true, answer: "Rollback"},
	}
	for _, k := range kinds {
		role := Operator
		if k.plural == "upstreams" {
			role = Admin
		}
		schema := k.schema
		es = append(es,
			endpoint{method: "GET", path: "/admin/" + k.plural, role: Viewer, summary: "Every " + k.singular + ".", handler: a.list(k), answer: schema + "List"},
			endpoint{method: "GET", path: "/admin/" + k.plural + "/{name}", role: Viewer, summary: "One " + k.singular + ".", handler: a.get(k), answer: schema},
			endpoint{method: "PUT", path: "/admin/" + k.plural + "/{name}", role: role, summary: "Create (201) or replace (200) a " + k.singular + ".", handler: a.put(k), write: true, body: schema, answer: schema},
			endpoint{method: "DELETE", path: "/admin/" + k.plural + "/{name}", role: role, summary: "Delete a " + k.singular + ".", handler: a.del(k), write: true, answer: "Deleted"},
		)
	}
	return append(es,
		endpoint{method: "POST", path: "/admin/consumers/{name}/keys", role: Operator, summary: "A new API key for a consumer, shown once; only its SHA-256 is stored.", handler: a.newKey, write: true, body: "KeyRequest", answer: "NewKey", status: http.StatusCreated},
		endpoint{method: "GET", path: "/admin/tokens", role: Admin, summary: "The store's admin tokens: names and roles, never secrets.", handler: a.listTokens, answer: "TokenList"},
		endpoint{method: "PUT", path: "/admin/tokens/{name}", role: Admin, summary: "A new secret for an admin token (creation or rotation), shown once.", handler: a.putToken, body: "TokenRequest", answer: "Token", status: http.StatusCreated},
		endpoint{method: "DELETE", path: "/admin/tokens/{name}", role: Admin, summary: "Revoke an admin token on every replica.", handler: a.deleteToken, answer: "Deleted"},
		endpoint{method: "POST", path: "/admin/cache/purge", role: Operator, summary: "Remove the stored answers under a host and path prefix from the response cache of the replica that serves this request (not the others'); answers how many keys were removed.", handler: a.purgeCache, body: "CachePurge", answer: "CachePurged"},
		endpoint{method: "GET", path: "/admin/whoami", role: Viewer, summary: "The caller's token name and role (what a client may offer).", handler: a.whoami, answer: "Whoami"},
	)
}
