package compose

import (
	"net/http"
	"sync/atomic"
	"testing"
)

// TestDecimalNumbersSubstitutedExactly: an id an upstream writes with a
// fraction or an exponent (9007199254740993.0, 9.007199254740993e15 — what
// some serialisers make of a 64-bit integer) names the same record in a
// later call's path: rounding it through float64 would ask for
// 9007199254740992, someone else's order.
func TestDecimalNumbersSubstitutedExactly(t *testing.T) {
	var path atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"a":9007199254740993.0,"b":9.007199254740993e15,"c":-1.2500,"d":12.5e-3,"e":0.000,"f":1e2}`),
		"lines": func(w http.ResponseWriter, r *http.Request) {
			path.Store(r.URL.Path)
			jsonHandler(0, `{}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Hidden: true},
		{Name: "line", Upstream: "lines", Path: "/l/{order.a}/{order.b}/{order.c}/{order.d}/{order.e}/{order.f}"},
	}})
	if code, _, doc := serve(t, p, "/o", "/o"); code != http.StatusOK {
		t.Fatalf("%d %v", code, doc)
	}
	if got, want := path.Load(), "/l/9007199254740993/9007199254740993/-1.25/0.0125/0/100"; got != want {
		t.Errorf("path %v, want %s", got, want)
	}
}
