package compose

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/units"
)

// TestPartialAnswerNotCached: an answer missing an optional call says it
// must not be stored, so a route cache (whose ttl overrides what answers
// say about their lifetime) does not serve the gap to every client until
// it expires after the backend is back.
func TestPartialAnswerNotCached(t *testing.T) {
	var recsDown atomic.Bool
	recsDown.Store(true)
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"id":"o1"}`),
		"recs": func(w http.ResponseWriter, r *http.Request) {
			if recsDown.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			jsonHandler(0, `{"items":[1]}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/1"},
		{Name: "recs", Upstream: "recs", Path: "/recs", Optional: true, Group: "recs"},
	}})
	store, err := cache.NewStore(cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c, err := cache.New(store, cache.Policy{TTL: units.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.With(c.Middleware).Handle("/o", p)
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/o", nil))
		return rec
	}
	if rec := get(); rec.Code != http.StatusOK || rec.Header().Get(PartialHeader) != "recs" {
		t.Fatalf("first: %d %v %s, want a partial answer", rec.Code, rec.Header(), rec.Body)
	}
	recsDown.Store(false)
	if rec := get(); rec.Header().Get(PartialHeader) != "" {
		t.Errorf("second, recs back: %s %s, X-Cache %q: the partial answer was cached",
			rec.Header().Get(PartialHeader), rec.Body, rec.Header().Get("X-Cache"))
	}
}
