package compose

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// A required for_each call fails at its first failing item: the items not
// yet started are not called (their answers could not change the 502), and
// the problem names the item's failure, not a sibling cancelled after it.
func TestForEachStopsAtFirstFailure(t *testing.T) {
	var calls atomic.Int32
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"items":[{"sku":"gone"},{"sku":"a"},{"sku":"b"},{"sku":"c"},{"sku":"d"}]}`),
		"catalog": func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.URL.Path == "/products/gone" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Hidden: true},
		{Name: "products", Upstream: "catalog", Path: "/products/{item.sku}", ForEach: "order.items", Workers: 1, Group: "products"},
	}})
	code, _, doc := serve(t, p, "/o", "/o")
	if code != http.StatusBadGateway || !strings.Contains(fmt.Sprint(doc["detail"]), "answered 404") {
		t.Fatalf("%d %v, want 502 naming the 404", code, doc)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("catalog got %d calls, want 1: the items after the failed one were still called", n)
	}
}
