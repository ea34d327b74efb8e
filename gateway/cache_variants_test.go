package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A route's header variant (beta users to a canary) and its response
// cache: the cache sits around the variant choice, so the answer depends
// on the header the variant reads. A canary's answer must not be served
// to ordinary requests from the store, nor the stable one to beta users.
func TestCachedRouteWithHeaderVariant(t *testing.T) {
	srv, _, _ := cachedVariantRoute(t, spec.Variant{Header: "X-Beta", Value: "1", Upstream: "canary"})
	for _, step := range []struct {
		beta        string
		want, cache string
	}{
		{"1", "canary", cache.Miss},
		{"", "stable", cache.Miss},
		{"1", "canary", cache.Hit},
		{"", "stable", cache.Hit},
		{"2", "stable", cache.Miss}, // another value: not the variant's
	} {
		var h []string
		if step.beta != "" {
			h = []string{"X-Beta", step.beta}
		}
		r := do(t, "GET", srv.URL+"/u/1", nil, h...)
		if r.body != step.want || r.header.Get(cache.HeaderXCache) != step.cache {
			t.Fatalf("X-Beta %q: %q X-Cache %s, want %q %s", step.beta, r.body, r.header.Get(cache.HeaderXCache), step.want, step.cache)
		}
	}
}

// A route whose canary takes a share of the requests by weight, with a
// response cache: the draw must be made before the cache lookup and each
// variant's answer kept apart, or the first answer stored is served to
// every client for its TTL and the weights no longer hold.
func TestCachedRouteWithWeightedVariant(t *testing.T) {
	srv, stable, canary := cachedVariantRoute(t, spec.Variant{Weight: 50, Upstream: "canary"})
	const n = 200
	got := map[string]int{}
	results := map[string]int{}
	for range n {
		r := do(t, "GET", srv.URL+"/u/1", nil)
		got[r.body]++
		results[r.header.Get(cache.HeaderXCache)]++
	}
	// 50/50 over 200 draws: fewer than 50 of either has a probability
	// below 1e-12.
	if got["stable"] < 50 || got["canary"] < 50 || got["stable"]+got["canary"] != n {
		t.Fatalf("answers over %d requests: %v, want about half each of stable and canary", n, got)
	}
	// Each variant's answer is fetched once and then served from the store.
	if s, c := stable.hits.Load(), canary.hits.Load(); s != 1 || c != 1 || results[cache.Miss] != 2 || results[cache.Hit] != n-2 {
		t.Fatalf("upstream calls stable %d canary %d, X-Cache %v: want each variant fetched once, the rest hits", s, c, results)
	}
	// A write to the URL invalidates both variants' answers.
	do(t, "POST", srv.URL+"/u/1", nil)
	clear(results)
	for range 50 { // both variants drawn: all but 2^-49
		results[do(t, "GET", srv.URL+"/u/1", nil).header.Get(cache.HeaderXCache)]++
	}
	if calls := stable.hits.Load() + canary.hits.Load(); results[cache.Miss] != 2 || calls != 5 {
		t.Fatalf("after a POST: X-Cache %v, %d upstream calls; want each variant fetched again once (5 calls with the POST)", results, calls)
	}
}

// cachedVariantRoute serves a cached route to backend "stable" with
// variant v to backend "canary"; each answers its name, cacheable for a
// minute.
func cachedVariantRoute(t *testing.T, v spec.Variant) (srv *httptest.Server, stable, canary *backend) {
	t.Helper()
	stable, canary = newBackend(t, "stable"), newBackend(t, "canary")
	for _, b := range []*backend{stable, canary} {
		name := b.name
		b.handle(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, name)
		})
	}
	c := routeCache(t, cache.StoreOptions{}, cache.Policy{})
	_, srv, _ = newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "stable", Instances: []discovery.Instance{stable.instance()}},
			{Name: "canary", Instances: []discovery.Instance{canary.instance()}},
		},
		Routes: []route.Route{{
			Route:      spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable", Variants: []spec.Variant{v}},
			Middleware: []func(http.Handler) http.Handler{c.Middleware},
		}},
	})
	return srv, stable, canary
}
