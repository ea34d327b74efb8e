package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/gathered"
)

// holdAt makes b hold each request for path until release is called (at
// the latest when the test ends); started gets one value per held request.
// Every request is answered by answer.
func holdAt(t *testing.T, b *backend, path string, answer http.HandlerFunc) (started <-chan struct{}, release func()) {
	held, released := make(chan struct{}, 1), make(chan struct{})
	release = sync.OnceFunc(func() { close(released) })
	t.Cleanup(release) // before the backend's Close, which waits for it
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			held <- struct{}{}
			<-released
		}
		answer(w, r)
	})
	return held, release
}

// getInBackground sends GET url and returns the channel its status arrives
// on (0 when it failed).
func getInBackground(t *testing.T, url string) <-chan int {
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	return done
}

// A request still running on a route that a reload removes is served and
// counted, and when it ends the route's series are gone rather than created
// again for ever.
func TestReloadRemovedRouteSeriesGoneAfterInFlight(t *testing.T) {
	b := newBackend(t, "b")
	started, release := holdAt(t, b, "/held", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	up := []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}}
	keep := route.Route{Route: spec.Route{Name: "keep", PathPrefix: "/keep", Upstream: "b"}}
	gw, srv, reg := newGateway(t, gateway.Config{Upstreams: up, Routes: []route.Route{
		keep, {Route: spec.Route{Name: "held", PathPrefix: "/held", Upstream: "b"}},
	}})

	done := getInBackground(t, srv.URL+"/held")
	<-started
	if err := gw.Apply(context.Background(), gateway.Config{Upstreams: up, Routes: []route.Route{keep}}); err != nil {
		t.Fatal(err)
	}
	if fams := gathered.RouteFamilies(t, reg, "held"); !slices.Contains(fams, "gatescale_http_requests_in_flight") {
		t.Errorf("the removed route's in-flight gauge was deleted while its request runs (series: %v)", fams)
	}
	release()
	if code := <-done; code != 200 {
		t.Fatalf("the request in flight during the reload got %d", code)
	}
	srv.Close() // waits for the handler, so the middleware has recorded
	if fams := gathered.RouteFamilies(t, reg, "held"); len(fams) != 0 {
		t.Errorf("the removed route still has series after its last request: %v", fams)
	}
}

// A composite route's backend call still running when a reload removes the
// route is recorded, and the per-call series are gone once the request is
// done instead of coming back.
func TestReloadRemovedCompositeSeriesGoneAfterInFlight(t *testing.T) {
	b := newBackend(t, "b")
	started, release := holdAt(t, b, "/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	up := []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}}
	keep := route.Route{Route: spec.Route{Name: "keep", PathPrefix: "/keep", Upstream: "b"}}
	page := route.Route{Route: spec.Route{Name: "page", Path: "/page", Composite: &compose.Composite{Calls: []compose.Call{
		{Name: "fast", Upstream: "b", Path: "/fast"}, {Name: "slow", Upstream: "b", Path: "/slow"},
	}}}}
	gw, srv, reg := newGateway(t, gateway.Config{Upstreams: up, Routes: []route.Route{keep, page}})

	done := getInBackground(t, srv.URL+"/page")
	<-started
	if err := gw.Apply(context.Background(), gateway.Config{Upstreams: up, Routes: []route.Route{keep}}); err != nil {
		t.Fatal(err)
	}
	release()
	if code := <-done; code != 200 {
		t.Fatalf("the composite request in flight during the reload got %d", code)
	}
	srv.Close() // waits for the handler, so every call has been recorded
	if fams := gathered.RouteFamilies(t, reg, "page"); len(fams) != 0 {
		t.Errorf("the removed composite route still has series after its last request: %v", fams)
	}
}

// A Proxy handler outlives route tables: when a reload removes a route of
// the same name as its upstream (its label), the requests it goes on
// serving are still counted, under that name.
func TestProxyHandlerCountedAfterRouteOfItsNameRemoved(t *testing.T) {
	b := newBackend(t, "users")
	up := []gateway.UpstreamSpec{{Name: "users", Instances: []discovery.Instance{b.instance()}}}
	gw, _, reg := newGateway(t, gateway.Config{Upstreams: up, Routes: []route.Route{
		{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users"}},
	}})
	direct := httptest.NewServer(gw.Proxy("users")) // mounted once, on a router of the user's own
	defer direct.Close()
	get := func() {
		t.Helper()
		if r := do(t, "GET", direct.URL+"/users/1", nil); r.code != 200 {
			t.Fatalf("through Proxy: %d", r.code)
		}
	}
	get()
	if err := gw.Apply(context.Background(), gateway.Config{Upstreams: up}); err != nil { // the route goes, the upstream stays
		t.Fatal(err)
	}
	get()
	get()
	if got := metricValue(t, reg, "gatescale_http_requests_total", "route", "users", "code", "200"); got != 2 {
		t.Errorf("requests_total{route=users} after the route of that name was removed = %v, want 2 (the Proxy's requests since)", got)
	}
}

// Authentication, authorization and rate limits given as gateway-wide
// middleware also wrap a Proxy handler, once: when a reload removes a route
// of the upstream's name (and the program forgets that route's security
// series, as live.Runtime does), the Proxy's refusals are still counted,
// under that name.
func TestProxySecurityCountedAfterRouteOfItsNameRemoved(t *testing.T) {
	b := newBackend(t, "users")
	sec := prometheus.NewRegistry()
	authnM, err := authn.NewMetrics(sec)
	if err != nil {
		t.Fatal(err)
	}
	authzM, err := authz.NewMetrics(sec)
	if err != nil {
		t.Fatal(err)
	}
	limitsM, err := ratelimit.NewMetrics(sec)
	if err != nil {
		t.Fatal(err)
	}
	store, err := consumer.NewMemory([]consumer.Consumer{
		{ID: "acme", APIKeys: []consumer.APIKey{{ID: "a1", SHA256: consumer.HashKey("key-acme").String()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A bucket per X-Bucket value: only requests that share one are limited.
	bucket := func(r *http.Request) string { return r.Header.Get("X-Bucket") }
	up := []gateway.UpstreamSpec{{Name: "users", Instances: []discovery.Instance{b.instance()}}}
	gw, _, _ := newGateway(t, gateway.Config{Upstreams: up, Routes: []route.Route{
		{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users"}},
	}}, gateway.WithMiddleware(
		ratelimit.Middleware([]ratelimit.Policy{{Name: "per-bucket", Limit: ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}, Key: bucket}},
			ratelimit.WithMetrics(limitsM)),
		authn.Middleware([]authn.Method{&authn.APIKey{Store: store}}, authn.WithAnonymous(true), authn.WithMetrics(authnM)),
		authz.Middleware(authz.Policy{Rule: authz.Rule{Anonymous: true}, Deny: []string{"acme"}}, authz.WithMetrics(authzM)),
	))
	direct := httptest.NewServer(gw.Proxy("users")) // mounted once, on a router of the program's own
	defer direct.Close()
	refuse := func(round string) {
		t.Helper()
		for _, c := range []struct {
			hdr  []string
			want int
		}{
			{[]string{"X-Bucket", round + "-authn", "X-API-Key", "wrong"}, 401},
			{[]string{"X-Bucket", round + "-authz", "X-API-Key", "key-acme"}, 403},
			{[]string{"X-Bucket", round + "-limit"}, 200},
			{[]string{"X-Bucket", round + "-limit"}, 429},
		} {
			if r := do(t, "GET", direct.URL+"/users/1", nil, c.hdr...); r.code != c.want {
				t.Fatalf("%s: through Proxy with %v: %d, want %d", round, c.hdr, r.code, c.want)
			}
		}
	}
	refuse("before")
	if err := gw.Apply(context.Background(), gateway.Config{Upstreams: up}); err != nil { // the route goes, the upstream stays
		t.Fatal(err)
	}
	authnM.ForgetRoute("users")
	authzM.ForgetRoute("users")
	limitsM.ForgetRoute("users")
	refuse("after")
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{authn.FailuresTotal, []string{"route", "users", "reason", string(authn.ReasonUnknownAPIKey)}},
		{authz.DeniedTotal, []string{"route", "users", "reason", string(authz.ReasonDenied)}},
		{ratelimit.RejectedTotal, []string{"route", "users", "policy", "per-bucket"}},
	} {
		if got := metricValue(t, sec, c.name, c.labels...); got != 1 {
			t.Errorf("%s%v after the route of that name was removed = %v, want 1 (the Proxy's refusal since)", c.name, c.labels, got)
		}
	}
}
