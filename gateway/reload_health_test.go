package gateway_test

import (
	"context"
	"net/http"
	"sync"
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

// TestReloadKeepsEjection: a reload that changes only an upstream's retry
// settings or try timeout rebuilds the upstream, and an instance that passive
// health ejected stays ejected in the new one: the requests right after the
// reload do not reach it. Removing passive health drops the ejection, since
// nothing is left to decide when it should end.
func TestReloadKeepsEjection(t *testing.T) {
	good, bad := newBackend(t, "good"), newBackend(t, "bad")
	bad.handle(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	passive := &health.Passive{ConsecutiveFailures: 3, BaseEjection: time.Hour}
	cfg := func(mod func(*gateway.UpstreamSpec)) gateway.Config {
		u := gateway.UpstreamSpec{
			Name: "u", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{good.instance(), bad.instance()},
			PassiveHealth: passive,
		}
		mod(&u)
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{u},
			Routes:    []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
		}
	}
	gw, srv, reg := newGateway(t, cfg(func(*gateway.UpstreamSpec) {}))
	for range 6 { // round robin: 3 reach the bad instance, which is then ejected
		do(t, "GET", srv.URL+"/", nil)
	}
	if got := bad.hits.Load(); got != 3 {
		t.Fatalf("bad instance got %d requests before ejection, want 3", got)
	}
	for _, change := range []struct {
		name string
		mod  func(*gateway.UpstreamSpec)
	}{
		{"retry", func(u *gateway.UpstreamSpec) { u.Retry = gateway.RetrySpec{Attempts: 2} }},
		{"try_timeout", func(u *gateway.UpstreamSpec) { u.Retry = gateway.RetrySpec{Attempts: 2}; u.TryTimeout = time.Minute }},
		{"passive threshold", func(u *gateway.UpstreamSpec) {
			u.TryTimeout = time.Minute
			u.PassiveHealth = &health.Passive{ConsecutiveFailures: 4, BaseEjection: time.Hour}
		}},
	} {
		before := gw.Upstream("u")
		if err := gw.Apply(context.Background(), cfg(change.mod)); err != nil {
			t.Fatal(err)
		}
		if gw.Upstream("u") == before {
			t.Fatalf("%s: upstream not rebuilt; the test does not test the rebuild", change.name)
		}
		for range 10 {
			if got := do(t, "GET", srv.URL+"/", nil); got.code != http.StatusOK {
				t.Fatalf("%s: request after reload got %d", change.name, got.code)
			}
		}
		if got := bad.hits.Load(); got != 3 {
			t.Fatalf("%s: ejected instance got %d requests in total after the reload, want still 3", change.name, got)
		}
		if n := gw.Upstream("u").Admitted(); n != 1 {
			t.Fatalf("%s: admitted = %d after reload, want 1", change.name, n)
		}
		if v := metricValue(t, reg, "gatescale_upstream_instances", "upstream", "u", "state", "ejected"); v != 1 {
			t.Fatalf("%s: gatescale_upstream_instances{state=ejected} = %v, want 1", change.name, v)
		}
	}
	// Without passive health nothing would ever readmit it: it is back.
	if err := gw.Apply(context.Background(), cfg(func(u *gateway.UpstreamSpec) { u.PassiveHealth = nil })); err != nil {
		t.Fatal(err)
	}
	if n := gw.Upstream("u").Admitted(); n != 2 {
		t.Fatalf("admitted = %d after passive health was removed, want 2", n)
	}
}

// TestReloadKeepsActiveDown: an instance that active checks hold down stays
// down across a reload that changes only the try timeout, though its checks
// start over in the new upstream; removing active checks brings it back.
func TestReloadKeepsActiveDown(t *testing.T) {
	good, bad := newBackend(t, "good"), newBackend(t, "bad")
	var served atomic.Int64 // requests other than probes
	bad.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			served.Add(1)
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	active := &health.Active{Interval: 20 * time.Millisecond, UnhealthyThreshold: 2, HealthyThreshold: 2}
	cfg := func(mod func(*gateway.UpstreamSpec)) gateway.Config {
		u := gateway.UpstreamSpec{
			Name: "u", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{good.instance(), bad.instance()},
			ActiveHealth: active,
		}
		mod(&u)
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{u},
			Routes:    []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
		}
	}
	gw, srv, _ := newGateway(t, cfg(func(*gateway.UpstreamSpec) {}))
	eventually(t, 5*time.Second, "active checks take the bad instance down", func() bool { return gw.Upstream("u").Admitted() == 1 })
	hits := served.Load()

	if err := gw.Apply(context.Background(), cfg(func(u *gateway.UpstreamSpec) { u.TryTimeout = time.Minute })); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if got := do(t, "GET", srv.URL+"/", nil); got.code != http.StatusOK {
			t.Fatalf("request after reload got %d", got.code)
		}
	}
	if got := served.Load(); got != hits {
		t.Fatalf("instance held down by active checks got %d requests after the reload, want 0", got-hits)
	}

	if err := gw.Apply(context.Background(), cfg(func(u *gateway.UpstreamSpec) { u.ActiveHealth = nil })); err != nil {
		t.Fatal(err)
	}
	if n := gw.Upstream("u").Admitted(); n != 2 {
		t.Fatalf("admitted = %d after active checks were removed, want 2", n)
	}
}

// TestReloadCountsInFlightFailure: a request that the old upstream sent
// before a reload rebuilt it, and that fails after the new upstream took
// its place, counts toward the new upstream's passive health for that
// instance: with a threshold of one failure the instance is ejected there.
func TestReloadCountsInFlightFailure(t *testing.T) {
	good, bad := newBackend(t, "good"), newBackend(t, "bad")
	arrived, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // before the backends close, on any failure
	bad.handle(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	cfg := func(tryTimeout time.Duration) gateway.Config {
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{{
				Name: "u", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{good.instance(), bad.instance()},
				PassiveHealth: &health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Hour}, TryTimeout: tryTimeout,
			}},
			Routes: []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
		}
	}
	gw, srv, _ := newGateway(t, cfg(0))
	failed := make(chan int, 1)
	go func() { // round robin: at most two requests until one is held by bad
		for {
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				failed <- 0
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed <- resp.StatusCode
				return
			}
		}
	}()
	<-arrived
	before := gw.Upstream("u")
	if err := gw.Apply(context.Background(), cfg(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if gw.Upstream("u") == before {
		t.Fatal("upstream not rebuilt; the test does not test the rebuild")
	}
	releaseOnce()
	if code := <-failed; code != http.StatusInternalServerError {
		t.Fatalf("the held request ended with %d, want the backend's 500", code)
	}
	if n := gw.Upstream("u").Admitted(); n != 1 {
		t.Fatalf("admitted = %d in the new upstream after the old one's request failed there, want 1: the failure was lost", n)
	}
	hits := bad.hits.Load()
	for range 4 {
		if got := do(t, "GET", srv.URL+"/", nil); got.code != http.StatusOK {
			t.Fatalf("request after the ejection got %d", got.code)
		}
	}
	if got := bad.hits.Load(); got != hits {
		t.Fatalf("ejected instance got %d more requests", got-hits)
	}
}
