package authz_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
)

func ExampleMiddleware() {
	// Anyone may read; writing needs the orders:write scope and a role.
	policy := authz.Policy{Methods: map[string]authz.Rule{
		"GET":  {Anonymous: true},
		"POST": {Scopes: []string{"orders:write"}, Roles: []string{"clerk", "admin"}},
	}}
	h := authz.Middleware(policy)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	bob := &consumer.Identity{ConsumerID: "bob", Scopes: []string{"orders:read"}}
	for _, method := range []string{"GET", "POST", "DELETE"} {
		r := httptest.NewRequest(method, "/orders", nil)
		r = r.WithContext(consumer.NewContext(r.Context(), bob))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Print(method, " ", rec.Code, " ", rec.Body)
	}
	// Output:
	// GET 200 ok
	// POST 403 {"type":"urn:gatescale:authz:missing_scope","title":"Forbidden","status":403,"detail":"missing scope for POST: orders:write"}
	// DELETE 403 {"type":"urn:gatescale:authz:method_not_allowed","title":"Forbidden","status":403,"detail":"DELETE is not allowed on this route"}
}

func ExamplePolicy_Decide() {
	p := authz.Policy{Rule: authz.Rule{Groups: []string{"ops"}}, Deny: []string{"mallory"}}
	fmt.Println(p.Decide(&consumer.Identity{ConsumerID: "ann", Groups: []string{"ops"}}, "GET").Allowed)
	fmt.Println(p.Decide(&consumer.Identity{ConsumerID: "mallory", Groups: []string{"ops"}}, "GET").Reason)
	// Output:
	// true
	// consumer_denied
}
