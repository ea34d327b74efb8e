package live_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/gathered"
)

// Requests routed on the old table that reach a route's authentication,
// authorization, rate limit and deprecation counting only after a reload
// removed the route (held before them, as a slow earlier middleware or a
// JWKS fetch would) are answered as before, but do not bring the removed
// route's series back; their refusals are counted under route="(removed)".
func TestRemovedRouteSecuritySeriesDoNotComeBack(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	var held sync.WaitGroup
	release := make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	hold := func(next http.Handler) http.Handler { // gateway-wide, before the route's policies
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Hold") != "" {
				held.Done()
				<-release
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithAccessLog(false), gateway.WithMiddleware(hold))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	srv := httptest.NewServer(gw)
	defer srv.Close()

	cfg := func(routes ...spec.Route) *spec.Config {
		c := config(strings.TrimPrefix(backend.URL, "http://"), "", routes...)
		c.Auth = &spec.Auth{APIKey: &spec.APIKeyAuth{}}
		c.Consumers = []consumer.Consumer{{ID: "acme", APIKeys: []consumer.APIKey{{ID: "a1", SHA256: consumer.HashKey("key-acme").String()}}}}
		return c
	}
	keep := spec.Route{Name: "keep", PathPrefix: "/keep", Upstream: "b"}
	apiKey := &spec.RouteAuth{Methods: []string{"api_key"}}
	removed := []spec.Route{
		{Name: "authn", PathPrefix: "/authn", Upstream: "b", Auth: apiKey},
		{Name: "authz", PathPrefix: "/authz", Upstream: "b", Auth: apiKey, Authorize: &spec.Authorize{Consumers: []string{"beta"}}},
		{Name: "limit", PathPrefix: "/limit", Upstream: "b", RateLimit: []spec.RateLimitPolicy{{Rate: 1, Burst: 1}}},
		{Name: "old", PathPrefix: "/old", Upstream: "b", Auth: apiKey, Lifecycle: &spec.Lifecycle{State: spec.LifecycleDeprecated, Successor: "/keep"}},
	}
	apply(t, rt, gw, cfg(append([]spec.Route{keep}, removed...)...))

	type call struct {
		path, key string
		want      int
	}
	calls := []call{{"/authn", "", 401}, {"/authz", "key-acme", 403}, {"/limit", "", 200}, {"/limit", "", 429}, {"/old", "key-acme", 200}}
	got := make([]int, len(calls))
	var done sync.WaitGroup
	held.Add(len(calls))
	for i, c := range calls {
		done.Add(1)
		go func() {
			defer done.Done()
			req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
			req.Header.Set("X-Hold", "1")
			if c.key != "" {
				req.Header.Set("X-API-Key", c.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			got[i] = resp.StatusCode
		}()
	}
	held.Wait() // all routed on the old table
	apply(t, rt, gw, cfg(keep))
	releaseOnce()
	done.Wait()
	limited := 0
	for i, c := range calls {
		if c.path == "/limit" {
			if got[i] == 429 {
				limited++
			}
			continue
		}
		if got[i] != c.want {
			t.Errorf("%s got %d, want %d", c.path, got[i], c.want)
		}
	}
	if limited != 1 {
		t.Errorf("%d of the two /limit requests were limited, want 1", limited)
	}
	srv.Close() // every handler has returned and recorded
	for _, r := range removed {
		if fams := gathered.RouteFamilies(t, reg, r.Name); len(fams) != 0 {
			t.Errorf("route %s, removed, has series again: %v", r.Name, fams)
		}
	}
	// The refusals were answered, so they are counted, under no route's
	// name (a limit's policy is often named after its route).
	want := `
# HELP gatescale_auth_failures_total Requests refused by authentication, by route, method and reason.
# TYPE gatescale_auth_failures_total counter
gatescale_auth_failures_total{method="none",reason="missing_credentials",route="(removed)"} 1
# HELP gatescale_authz_denied_total Requests refused by authorization (403), by route and reason.
# TYPE gatescale_authz_denied_total counter
gatescale_authz_denied_total{reason="consumer_not_allowed",route="(removed)"} 1
# HELP gatescale_ratelimit_rejected_total Requests refused by a rate or concurrency limit (429), by route and policy.
# TYPE gatescale_ratelimit_rejected_total counter
gatescale_ratelimit_rejected_total{policy="",route="(removed)"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gatescale_auth_failures_total", "gatescale_authz_denied_total", "gatescale_ratelimit_rejected_total"); err != nil {
		t.Errorf("the refusals of the removed routes' late requests: %v", err)
	}
}
