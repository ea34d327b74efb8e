package live_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/gathered"
)

// The defaults spec's messages name are the ones the capability packages
// use on their own.
func TestDefaultsAgree(t *testing.T) {
	if spec.DefaultRealm != authn.DefaultRealm || spec.DefaultJWKSRefresh != authn.DefaultJWKSRefresh ||
		spec.DefaultJWKSMinRefresh != authn.DefaultJWKSMinRefresh || spec.DefaultLeeway != authn.DefaultLeeway ||
		spec.DefaultRedisTimeout != ratelimit.DefaultRedisTimeout || spec.DefaultRedisBackoff != ratelimit.DefaultRedisBackoff {
		t.Fatal("spec defaults differ from the capability packages' defaults")
	}
	if spec.DefaultHashReplicas != balance.DefaultHashReplicas || spec.DefaultHashLoadFactor != balance.DefaultHashLoadFactor {
		t.Fatal("spec's hash defaults differ from package balance's")
	}
	for _, name := range spec.BalancerNames {
		if _, err := balance.ByName(name); err != nil && name != "hash" {
			t.Errorf("spec accepts balancer %q, package balance does not: %v", name, err)
		}
	}
}

func config(backend string, jwksURL string, routes ...spec.Route) *spec.Config {
	c := &spec.Config{Upstreams: map[string]spec.Upstream{"b": {Instances: []spec.Instance{{Addr: backend}}}}, Routes: routes}
	if jwksURL != "" {
		c.Auth = &spec.Auth{JWT: map[string]spec.JWTIssuer{"idp": {Issuer: "https://idp", Audiences: []string{"a"},
			Algorithms: []string{"RS256"}, JWKSURL: jwksURL}}}
	}
	return c
}

func apply(t *testing.T, rt *live.Runtime, gw *gateway.Gateway, c *spec.Config) {
	t.Helper()
	if err := live.Validate(c); err != nil {
		t.Fatal(err)
	}
	b, err := rt.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Apply(context.Background(), b.Gateway); err != nil {
		b.Discard()
		t.Fatal(err)
	}
	b.Commit()
}

// What a removed part owned is closed: after N reloads that add and drop a
// JWKS issuer, the runtime holds what the last revision uses and the
// refresher goroutines are back to the baseline.
func TestReloadsReleaseResources(t *testing.T) {
	old := live.CloseGrace
	live.CloseGrace = 0
	defer func() { live.CloseGrace = old }()
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	jwks.Config.SetKeepAlivesEnabled(false)
	defer jwks.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	addr := strings.TrimPrefix(backend.URL, "http://")

	gw, err := gateway.New(gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime()
	defer rt.Close()
	plain := spec.Route{Name: "r", PathPrefix: "/", Upstream: "b", RateLimit: []spec.RateLimitPolicy{{Rate: 100}}}
	apply(t, rt, gw, config(addr, "", plain))
	base := runtime.NumGoroutine()
	baseRes := rt.Resources()

	for i := range 20 {
		secured := spec.Route{Name: "r", PathPrefix: "/", Upstream: "b", Auth: &spec.RouteAuth{Methods: []string{"jwt"}}}
		// A new URL each time: a new refresher that the next revision drops.
		apply(t, rt, gw, config(addr, fmt.Sprintf("%s/jwks/%d", jwks.URL, i), secured))
		apply(t, rt, gw, config(addr, "", plain))
	}
	if got := rt.Resources(); fmt.Sprint(got) != fmt.Sprint(baseRes) {
		t.Errorf("resources after reloads %v, want %v", got, baseRes)
	}
	// Connections (the JWKS fetches') are not what is measured: close them.
	jwks.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+2 {
		t.Errorf("goroutines %d after 20 reload pairs, baseline %d", n, base)
	}
}

// Requests in flight across a reload still count against a concurrency
// limit: the counters belong to the policy, not to one revision.
func TestConcurrencyLimitHoldsAcrossReload(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	defer backend.Close()
	defer close(release)
	addr := strings.TrimPrefix(backend.URL, "http://")
	gw, err := gateway.New(gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime()
	defer rt.Close()
	route := spec.Route{Name: "slow", PathPrefix: "/", Upstream: "b", Concurrency: &spec.Concurrency{Max: 2}}
	apply(t, rt, gw, config(addr, "", route))
	srv := httptest.NewServer(gw)
	defer srv.Close()

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/x")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-started
	<-started
	// A reload with the same policy (and another route beside it).
	other := spec.Route{Name: "other", PathPrefix: "/other", Upstream: "b"}
	apply(t, rt, gw, config(addr, "", route, other))
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third request after a reload got %d, want 429: the limit was reset", resp.StatusCode)
	}
	release <- struct{}{}
	release <- struct{}{}
	wg.Wait()
}

// A route removed by a reload leaves no series behind, in the gateway's
// metrics and in the security metrics.
func TestRemovedRouteSeriesDeleted(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	addr := strings.TrimPrefix(backend.URL, "http://")
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	keep := spec.Route{Name: "keep", PathPrefix: "/keep", Upstream: "b"}
	gone := spec.Route{Name: "gone", PathPrefix: "/gone", Upstream: "b", RateLimit: []spec.RateLimitPolicy{{Rate: 1, Burst: 1}}}
	apply(t, rt, gw, config(addr, "", keep, gone))
	for _, p := range []string{"/keep", "/gone", "/gone"} { // the second /gone is refused: a limit series
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
	}
	count := func(route string) int { return len(gathered.RouteFamilies(t, reg, route)) }
	if count("gone") == 0 || testutil.CollectAndCount(reg, "gatescale_ratelimit_rejected_total") == 0 {
		t.Fatal("no series for route gone before the reload")
	}
	apply(t, rt, gw, config(addr, "", keep))
	if n := count("gone"); n != 0 {
		t.Errorf("%d series still name the removed route", n)
	}
	if count("keep") == 0 {
		t.Error("the kept route's series were deleted too")
	}
}

// A deprecated route counts its calls by consumer (after authentication):
// who still has to move before the sunset. Calls without a consumer count
// as (anonymous); a published route counts nothing.
func TestDeprecatedCallsByConsumer(t *testing.T) {
	gw, rt, reg, backend := newLive(t)
	c := config(backend, "",
		spec.Route{Name: "old", PathPrefix: "/v1", Upstream: "b", Auth: &spec.RouteAuth{Methods: []string{"api_key"}, Anonymous: true},
			Lifecycle: &spec.Lifecycle{State: spec.LifecycleDeprecated, Successor: "/v2"}},
		spec.Route{Name: "new", PathPrefix: "/v2", Upstream: "b", Auth: &spec.RouteAuth{Methods: []string{"api_key"}}})
	c.Auth = &spec.Auth{APIKey: &spec.APIKeyAuth{}}
	c.Consumers = []consumer.Consumer{
		{ID: "acme", APIKeys: []consumer.APIKey{{ID: "a1", SHA256: consumer.HashKey("key-acme").String()}}},
		{ID: "beta", APIKeys: []consumer.APIKey{{ID: "b1", SHA256: consumer.HashKey("key-beta").String()}}},
	}
	apply(t, rt, gw, c)
	call := func(path, key string) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if path == "/v1" && rec.Header().Get("Deprecation") == "" {
			t.Fatal("no Deprecation header")
		}
	}
	for range 3 {
		call("/v1", "key-acme")
	}
	call("/v1", "key-beta")
	call("/v1", "")
	call("/v2", "key-acme")
	want := `
# HELP gatescale_deprecated_calls_total Calls of deprecated routes, by route and consumer.
# TYPE gatescale_deprecated_calls_total counter
gatescale_deprecated_calls_total{consumer="(anonymous)",route="old"} 1
gatescale_deprecated_calls_total{consumer="acme",route="old"} 3
gatescale_deprecated_calls_total{consumer="beta",route="old"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gatescale_deprecated_calls_total"); err != nil {
		t.Fatal(err)
	}
}

// A consumer's own limit is one budget across every route that
// authenticates it; other consumers are not limited by it; bad limits are
// refused with their path.
func TestConsumerLimits(t *testing.T) {
	gw, rt, _, backend := newLive(t)
	auth := &spec.RouteAuth{Methods: []string{"api_key"}}
	c := config(backend, "",
		spec.Route{Name: "one", PathPrefix: "/one", Upstream: "b", Auth: auth},
		spec.Route{Name: "two", PathPrefix: "/two", Upstream: "b", Auth: auth})
	c.Auth = &spec.Auth{APIKey: &spec.APIKeyAuth{}}
	c.Consumers = []consumer.Consumer{
		{ID: "acme", APIKeys: []consumer.APIKey{{ID: "a1", SHA256: consumer.HashKey("key-acme").String()}},
			RateLimit: []consumer.Limit{{Rate: 2, Per: spec.Duration(time.Minute)}}},
		{ID: "beta", APIKeys: []consumer.APIKey{{ID: "b1", SHA256: consumer.HashKey("key-beta").String()}}},
	}
	apply(t, rt, gw, c)
	call := func(path, key string) (int, http.Header) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		return rec.Code, rec.Header()
	}
	for _, p := range []string{"/one", "/two"} {
		if code, _ := call(p, "key-acme"); code != 200 {
			t.Fatalf("acme %s within its plan: %d", p, code)
		}
	}
	code, h := call("/one", "key-acme")
	if code != 429 || !strings.Contains(h.Get("RateLimit-Policy"), `"consumer:acme";q=2;w=60`) {
		t.Fatalf("acme over its plan: %d %v", code, h)
	}
	for range 5 {
		if code, _ := call("/two", "key-beta"); code != 200 {
			t.Fatalf("beta has no plan: %d", code)
		}
	}
	// Refused: a bad limit, and store redis without Redis.
	c.Consumers[0].RateLimit = []consumer.Limit{{Rate: 0}, {Rate: 1, Store: "redis"}}
	err := live.Validate(c)
	for _, want := range []string{"consumers[0].rate_limit[0].rate: must be at least 1", "consumers[0].rate_limit[1].store: store redis needs rate_limit.redis"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// newLive returns a gateway and its runtime on one registry, and the
// address of an empty 200 backend; all stop when the test ends.
func newLive(t *testing.T) (*gateway.Gateway, *live.Runtime, *prometheus.Registry, string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(backend.Close)
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	rt := live.NewRuntime(live.WithRegistry(reg))
	t.Cleanup(rt.Close)
	return gw, rt, reg, strings.TrimPrefix(backend.URL, "http://")
}

// A deprecated route without since is sent Deprecation: @the time it
// became deprecated, and a reload that keeps it deprecated keeps that
// time: clients comparing the date must not see the route deprecated
// anew at every configuration change. Published again and deprecated
// again, it is a new deprecation.
func TestDeprecationTimeKeptAcrossReloads(t *testing.T) {
	gw, rt, _, backend := newLive(t)
	route := func(state string) spec.Route {
		return spec.Route{Name: "old", PathPrefix: "/v1", Upstream: "b", Lifecycle: &spec.Lifecycle{State: state}}
	}
	deprecation := func() int64 {
		t.Helper()
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", "/v1", nil))
		v := rec.Header().Get("Deprecation")
		secs, err := strconv.ParseInt(strings.TrimPrefix(v, "@"), 10, 64)
		if !strings.HasPrefix(v, "@") || err != nil {
			t.Fatalf("Deprecation: %q, want @UNIX-SECONDS", v)
		}
		return secs
	}
	// nextSecond waits for the clock to pass secs, so a time taken now
	// differs from it.
	nextSecond := func(secs int64) {
		for time.Now().Unix() <= secs {
			time.Sleep(20 * time.Millisecond)
		}
	}
	apply(t, rt, gw, config(backend, "", route(spec.LifecycleDeprecated)))
	first := deprecation()
	nextSecond(first)
	apply(t, rt, gw, config(backend, "", route(spec.LifecycleDeprecated), spec.Route{Name: "other", PathPrefix: "/o", Upstream: "b"}))
	if got := deprecation(); got != first {
		t.Errorf("after a reload: Deprecation @%d, want @%d (the time it became deprecated)", got, first)
	}
	apply(t, rt, gw, config(backend, "", route(spec.LifecyclePublished)))
	apply(t, rt, gw, config(backend, "", route(spec.LifecycleDeprecated)))
	if got := deprecation(); got <= first {
		t.Errorf("deprecated again: Deprecation @%d, want after @%d", got, first)
	}
}
