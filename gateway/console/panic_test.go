package console_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
)

// TestUpstreamPanicShown: an upstream whose active checks hold every
// instance down (the health path answers 404) is shown in panic when it
// has a panic threshold — its requests go to those instances — and not
// in panic without one, where its requests get 503.
func TestUpstreamPanicShown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			http.NotFound(w, r)
		}
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	apply := func(pct int) {
		t.Helper()
		err := gw.Apply(context.Background(), gateway.Config{Upstreams: []gateway.UpstreamSpec{{
			Name: "users", Balancer: balance.RoundRobin{}, PanicThreshold: pct,
			Instances:    []discovery.Instance{{Addr: ln.Addr().String()}},
			ActiveHealth: &health.Active{Interval: 10 * time.Millisecond, UnhealthyThreshold: 1},
		}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Authentication is the admin API's, tested with it; here every
	// request passes, and the JSON is read as the page reads it.
	pass := func(_ admin.Role, h http.Handler) http.Handler { return h }
	con, err := console.New(console.Options{Gateway: gw, Gatherer: reg, Guard: pass})
	if err != nil {
		t.Fatal(err)
	}
	api := con.Handlers()["GET /console/api/upstreams"]
	view := func() console.UpstreamView {
		t.Helper()
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/api/upstreams", nil))
		var ups []console.UpstreamView
		if err := json.Unmarshal(rec.Body.Bytes(), &ups); err != nil || len(ups) != 1 {
			t.Fatalf("upstreams %d %s: %v", rec.Code, rec.Body, err)
		}
		return ups[0]
	}

	apply(50)
	deadline := time.Now().Add(5 * time.Second)
	for v := view(); len(v.Instances) != 1 || v.Instances[0].State != console.Unhealthy; v = view() {
		if time.Now().After(deadline) {
			t.Fatalf("the checks did not hold the instance down: %+v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v := view(); !v.Panic || v.Admitted != 0 {
		t.Fatalf("with panic_threshold 50 and no instance admitted: %+v, want panic", v)
	}

	apply(0)
	if v := view(); v.Panic || v.Instances[0].State != console.Unhealthy {
		t.Fatalf("without a panic threshold: %+v, want no panic and the instance still unhealthy", v)
	}
}
