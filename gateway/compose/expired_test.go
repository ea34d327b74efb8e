package compose

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequiredCallNotMadeFailsTheRequest: when the route's deadline has
// passed before a required call could start (the time went in the
// middleware before it, or waiting for a dependency), the call is not
// made — and the answer is a 504 naming it, not a 200 that lists a
// required call under _partial as if it were optional.
func TestRequiredCallNotMadeFailsTheRequest(t *testing.T) {
	var calls atomic.Int32
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			jsonHandler(0, `{"id":"o1"}`)(w, r)
		},
	})
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/1"},
		{Name: "recs", Upstream: "orders", Path: "/recs", Optional: true},
	}}, WithMetrics(m))
	r := chi.NewRouter()
	r.Handle("/o", p)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	req := httptest.NewRequest("GET", "/o", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	var doc map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &doc)
	if rec.Code != http.StatusGatewayTimeout || doc["call"] != "order" {
		t.Errorf("%d %s, want 504 naming the required call order", rec.Code, rec.Body)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls made after the deadline", n)
	}
	// Counted as cancelled, but no duration: they took no time of a backend.
	for _, call := range []string{"order", "recs"} {
		if n := testutil.ToFloat64(m.calls.WithLabelValues("orders", call, "cancelled")); n != 1 {
			t.Errorf("%s: %v cancelled, want 1", call, n)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != 0 {
		t.Errorf("%d duration series for calls never made", n)
	}
}
