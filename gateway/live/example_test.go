package live_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Validate, build, apply, commit: what the file and the admin API both do
// with a revision of the gateway's state.
func ExampleRuntime_Build() {
	c := &spec.Config{
		Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: "127.0.0.1:9001"}}}},
		Routes: []spec.Route{{Name: "users", PathPrefix: "/users", Upstream: "users",
			RateLimit: []spec.RateLimitPolicy{{Rate: 100}}}},
	}
	if err := live.Validate(c); err != nil {
		panic(err)
	}
	rt := live.NewRuntime() // one per process: it keeps buckets and clients across builds
	defer rt.Close()
	built, err := rt.Build(c)
	if err != nil {
		panic(err)
	}
	gw, _ := gateway.New(gateway.WithAccessLog(false))
	defer gw.Close()
	if err := gw.Apply(context.Background(), built.Gateway); err != nil {
		built.Discard() // the running configuration stays; close what this build started
		panic(err)
	}
	built.Commit() // close what only the previous revision used
	fmt.Println(len(built.Gateway.Routes[0].Middleware), "middleware on route", built.Gateway.Routes[0].Name)
	// Output: 1 middleware on route users
}

// Validate places the route table's own problems at their field too.
func ExampleValidate() {
	c := &spec.Config{
		Upstreams: map[string]spec.Upstream{"u": {Instances: []spec.Instance{{Addr: "127.0.0.1:1"}}}},
		Routes: []spec.Route{
			{Name: "a", Path: "/a", Upstream: "u"},
			{Name: "b", Path: "/a", Methods: []string{"GET"}, Upstream: "u"},
		},
	}
	fmt.Println(live.Validate(c))
	// Output: routes[1].path: GET /a is already routed by route "a"
}

// One Runtime per process builds every revision and keeps what an unchanged
// part owns: here route users' rate-limit bucket, so a reload does not hand
// its clients a fresh budget. It needs no cluster: Kubernetes and Consul
// clients are made only for upstreams that use them.
func ExampleNewRuntime() {
	reg := prometheus.NewRegistry()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()

	c := &spec.Config{
		Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: "127.0.0.1:9001"}}}},
		Routes: []spec.Route{{Name: "users", PathPrefix: "/users", Upstream: "users",
			RateLimit: []spec.RateLimitPolicy{{Rate: 1, Per: spec.Duration(time.Minute), Burst: 1}}}},
	}
	for _, prefix := range []string{"/users", "/v2/users"} { // a revision, then a reload
		c.Routes[0].PathPrefix = prefix
		built, err := rt.Build(c)
		if err != nil {
			panic(err)
		}
		built.Commit() // as after a successful (*gateway.Gateway).Apply
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
		mw := built.Gateway.Routes[0].Middleware
		for i := len(mw) - 1; i >= 0; i-- {
			h = mw[i](h)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", prefix, nil))
		fmt.Println(prefix, rec.Code, rt.Resources())
	}

	// The metrics are registered once per registry: a second Runtime needs
	// its own.
	func() {
		defer func() { fmt.Println(recover()) }()
		live.NewRuntime(live.WithRegistry(reg))
	}()
	// Output:
	// /users 200 [local|users]
	// /v2/users 429 [local|users]
	// authn metrics: register: duplicate metrics collector registration attempted
}

// PurgeCache empties this process's response cache under a path prefix,
// whatever the query or consumer: what POST /admin/cache/purge calls.
func ExampleRuntime_PurgeCache() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, r.URL.Path)
	}))
	defer backend.Close()
	c := &spec.Config{
		Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: backend.Listener.Addr().String()}}}},
		Routes:    []spec.Route{{Name: "users", PathPrefix: "/users", Upstream: "users", Cache: &cache.Policy{}}},
	}
	rt := live.NewRuntime()
	defer rt.Close()
	built, _ := rt.Build(c)
	gw, _ := gateway.New(gateway.WithAccessLog(false))
	defer gw.Close()
	_ = gw.Apply(context.Background(), built.Gateway)
	built.Commit()
	front := httptest.NewServer(gw)
	defer front.Close()
	for _, p := range []string{"/users/1", "/users/1?v=2", "/users/2"} {
		resp, _ := http.Get(front.URL + p)
		resp.Body.Close()
	}
	fmt.Println(rt.PurgeCache("/users/1"), rt.PurgeCache("/"))
	// Output: 2 1
}
