package compose

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// TestClientCredentialsOnlyWhereConfigured: a composite fans one request out
// to several upstreams, and the client's Authorization and Cookie are for
// the one that checks them, not for every backend of the route (a
// recommendations service would get the user's bearer token and session).
// A call that needs them says so in headers.
func TestClientCredentialsOnlyWhereConfigured(t *testing.T) {
	var mu sync.Mutex
	got := map[string]http.Header{}
	record := func(name, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = r.Header.Clone()
			mu.Unlock()
			jsonHandler(0, body)(w, r)
		}
	}
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": record("orders", `{"id":"o1"}`),
		"recs":   record("recs", `{"recs":[]}`),
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/1",
			Headers: map[string]string{"Authorization": "{header.Authorization}", "Cookie": "{header.Cookie}"}},
		{Name: "recs", Upstream: "recs", Path: "/recs"},
	}})
	code, _, doc := serve(t, p, "/o", "/o", "Authorization", "Bearer user-token", "Cookie", "sid=abc", "X-Request-Id", "r1")
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, doc)
	}
	mu.Lock()
	defer mu.Unlock()
	if h := got["orders"]; h.Get("Authorization") != "Bearer user-token" || h.Get("Cookie") != "sid=abc" {
		t.Errorf("the call configured with the credentials got Authorization %q, Cookie %q", h.Get("Authorization"), h.Get("Cookie"))
	}
	h := got["recs"]
	if v := h.Get("Authorization"); v != "" {
		t.Errorf("recs got the client's Authorization %q", v)
	}
	if v := h.Get("Cookie"); v != "" {
		t.Errorf("recs got the client's Cookie %q", v)
	}
	if h.Get("X-Request-Id") != "r1" {
		t.Errorf("recs lost X-Request-Id: %v", h)
	}
}

// TestEmptyHeaderTemplateNotSent: a call's header whose template renders
// empty — {header.Authorization} for a client that sent none — is left
// out, not sent as "Authorization: " (which many servers refuse as a
// malformed credential instead of treating the request as anonymous).
func TestEmptyHeaderTemplateNotSent(t *testing.T) {
	var got atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Clone())
			jsonHandler(0, `{"id":"o1"}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "order", Upstream: "orders", Path: "/orders/1",
		Headers: map[string]string{"Authorization": "{header.Authorization}"}}}})
	if code, _, doc := serve(t, p, "/o", "/o"); code != http.StatusOK {
		t.Fatalf("%d %v", code, doc)
	}
	if v, ok := got.Load().(http.Header)["Authorization"]; ok {
		t.Errorf("the call got Authorization %q from an empty template", v)
	}
}
