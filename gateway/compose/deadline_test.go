package compose

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// TestRouteDeadlineWhileReading: the route's deadline (its timeout, set
// on the request's context by the route table) running out while an
// answer's body is still arriving is a timeout like one that runs out
// before the headers: 504, not 502.
func TestRouteDeadlineWhileReading(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"slowbody": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"a":`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
		"slowhead": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	})
	for _, upstream := range []string{"slowhead", "slowbody"} {
		p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "c", Upstream: upstream, Path: "/c"}}})
		r := chi.NewRouter()
		r.Handle("/o", p)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/o", nil))
		cancel()
		var doc map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &doc)
		if rec.Code != http.StatusGatewayTimeout || doc["call"] != "c" {
			t.Errorf("%s: %d %v", upstream, rec.Code, doc)
		}
	}
}
