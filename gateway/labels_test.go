package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/ratelimit"
)

// TestRouteLabelsOnPlainChi: middleware mounted on a plain chi router (no
// route table) labels a refused request with the pattern chi matched, the
// same label the metrics middleware gives it — not "unmatched".
func TestRouteLabelsOnPlainChi(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	anM, _ := authn.NewMetrics(reg)
	azM, _ := authz.NewMetrics(reg)
	rlM, _ := ratelimit.NewMetrics(reg)
	store, err := consumer.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(w http.ResponseWriter, r *http.Request) {}

	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.With(authn.Middleware([]authn.Method{&authn.APIKey{Store: store}}, authn.WithMetrics(anM))).Get("/orders/{id}", ok)
	r.With(authz.Middleware(authz.Policy{Rule: authz.Rule{Scopes: []string{"admin"}}}, authz.WithMetrics(azM))).Get("/admin/{page}", ok)
	r.With(ratelimit.Middleware([]ratelimit.Policy{{Name: "p", Limit: ratelimit.Limit{Rate: 1, Period: time.Hour}}}, ratelimit.WithMetrics(rlM))).Get("/items/{id}", ok)

	for _, c := range []struct {
		path    string
		code    int
		counter string
		pattern string
	}{
		{"/orders/1", 401, authn.FailuresTotal, "/orders/{id}"},
		{"/admin/users", 403, authz.DeniedTotal, "/admin/{page}"},
		{"/items/1", 200, "", "/items/{id}"},
		{"/items/2", 429, ratelimit.RejectedTotal, "/items/{id}"},
	} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.code {
			t.Fatalf("%s: %d, want %d", c.path, rec.Code, c.code)
		}
		if got := metricValue(t, reg, metrics.RequestsTotal, "route", c.pattern, "code", strconv.Itoa(c.code)); got != 1 {
			t.Errorf("%s: %s{route=%q,code=%d} = %v, want 1", c.path, metrics.RequestsTotal, c.pattern, c.code, got)
		}
		if c.counter != "" {
			if got := metricValue(t, reg, c.counter, "route", c.pattern); got != 1 {
				t.Errorf("%s: %s{route=%q} = %v, want 1: its label differs from the metrics middleware's", c.path, c.counter, c.pattern, got)
			}
		}
	}
}
