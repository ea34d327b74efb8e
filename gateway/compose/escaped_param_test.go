package compose

import (
	"net/http"
	"sync/atomic"
	"testing"
)

// TestEscapedPathParam: a route path parameter is the client's value
// once, whether or not the client's path needed its raw form kept (chi
// routes on RawPath when it is set, and then gives the parameter still
// escaped).
func TestEscapedPathParam(t *testing.T) {
	var got atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.URL.EscapedPath())
			jsonHandler(0, `{}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/orders/{id}", Composite{Calls: []Call{{Name: "order", Upstream: "orders", Path: "/orders/{id}"}}})
	for target, want := range map[string]string{
		"/orders/c%2F7":     "/orders/c%2F7",
		"/orders/caf%c3%a9": "/orders/caf%C3%A9",
		"/orders/a%20b":     "/orders/a%20b",
		"/orders/plain":     "/orders/plain",
	} {
		if code, _, doc := serve(t, p, "/orders/{id}", target); code != 200 {
			t.Fatalf("%s: %d %v", target, code, doc)
		}
		if g := got.Load(); g != want {
			t.Errorf("%s: upstream got %v, want %s", target, g, want)
		}
	}
	// Unescaped, an escaped dot segment is refused like a plain one.
	if code, _, doc := serve(t, p, "/orders/{id}", "/orders/%2E%2E"); code != http.StatusBadGateway {
		t.Errorf("%%2E%%2E: %d %v", code, doc)
	}
}
