package gateway_test

import (
	"io"
	"net/http"
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
	stable, canary := newBackend(t, "stable"), newBackend(t, "canary")
	for _, b := range []*backend{stable, canary} {
		name := b.name
		b.handle(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("X-Backend", name)
			io.WriteString(w, name)
		})
	}
	store, err := cache.NewStore(cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	c, err := cache.New(store, cache.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	_, srv, _ := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "stable", Instances: []discovery.Instance{stable.instance()}},
			{Name: "canary", Instances: []discovery.Instance{canary.instance()}},
		},
		Routes: []route.Route{{
			Route:      spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable", Variants: []spec.Variant{{Header: "X-Beta", Value: "1", Upstream: "canary"}}},
			Middleware: []func(http.Handler) http.Handler{c.Middleware},
		}},
	})
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
