package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestPanicThresholdServesWhenChecksFail: the active check's path is broken
// on every instance (404), so the checks hold them all down though they
// serve well. With a panic threshold the requests still reach them, and
// gatescale_upstream_panic says so; without one (a reload that removes it)
// the upstream answers 503 to everything, as before.
func TestPanicThresholdServesWhenChecksFail(t *testing.T) {
	var served atomic.Int64
	var insts []discovery.Instance
	for _, name := range []string{"a", "b"} {
		b := newBackend(t, name)
		b.handle(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				http.NotFound(w, r)
				return
			}
			served.Add(1)
		})
		insts = append(insts, b.instance())
	}
	cfg := func(pct int) gateway.Config {
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{{
				Name: "u", Balancer: balance.RoundRobin{}, Instances: insts, PanicThreshold: pct,
				ActiveHealth: &health.Active{Interval: 10 * time.Millisecond, UnhealthyThreshold: 1},
			}},
			Routes: []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
		}
	}
	gw, srv, reg := newGateway(t, cfg(50))
	eventually(t, 5*time.Second, "active checks take both instances down", func() bool { return gw.Upstream("u").Admitted() == 0 })
	requests := func(want int) {
		t.Helper()
		before := served.Load()
		for range 4 {
			if got := do(t, "GET", srv.URL+"/x", nil); got.code != want {
				t.Fatalf("got %d, want %d", got.code, want)
			}
		}
		if want == http.StatusOK && served.Load()-before != 4 {
			t.Fatalf("backends served %d of 4 requests", served.Load()-before)
		}
	}
	requests(http.StatusOK)
	if v := metricValue(t, reg, "gatescale_upstream_panic", "upstream", "u"); v != 1 {
		t.Fatalf("gatescale_upstream_panic = %v in panic, want 1", v)
	}
	if v := metricValue(t, reg, "gatescale_upstream_instances", "upstream", "u", "state", "unhealthy"); v != 2 {
		t.Fatalf("gatescale_upstream_instances{state=unhealthy} = %v, want 2: panic does not hide what the checks say", v)
	}

	if err := gw.Apply(context.Background(), cfg(0)); err != nil {
		t.Fatal(err)
	}
	if n := gw.Upstream("u").Admitted(); n != 0 {
		t.Fatalf("admitted = %d after the reload, want 0 (the checks' verdicts are kept)", n)
	}
	before := served.Load()
	requests(http.StatusServiceUnavailable)
	if served.Load() != before {
		t.Fatal("requests reached instances held down without a panic threshold")
	}
	if v := metricValue(t, reg, "gatescale_upstream_panic", "upstream", "u"); v != 0 {
		t.Fatalf("gatescale_upstream_panic = %v without a threshold, want 0", v)
	}

	if err := gw.Apply(context.Background(), cfg(50)); err != nil {
		t.Fatal(err)
	}
	requests(http.StatusOK)
}

// TestPanicThresholdValidated: Apply refuses a threshold outside 0–100,
// naming the upstream and the value.
func TestPanicThresholdValidated(t *testing.T) {
	gw, err := gateway.New()
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	cfg := gateway.Config{Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{{Addr: "127.0.0.1:1"}}, PanicThreshold: 101}}}
	err = gw.Apply(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "upstream 0 (u): panic threshold must be a percentage from 0 (off) to 100, not 101") {
		t.Fatalf("Apply: %v", err)
	}
}
