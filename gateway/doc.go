// Package gateway is an embeddable API gateway built from chi-compatible
// middleware.
//
// A Gateway owns a route table and the upstream services the routes point
// at. Give it a Config with Apply — upstreams (how to find instances, how to
// balance, health, retries) and routes (what to match, how to rewrite, which
// middleware, which upstream) — and serve it as an http.Handler, or mount it
// on a router of your own:
//
//	reg := prometheus.NewRegistry()
//	gw, _ := gateway.New(gateway.WithRegistry(reg))
//	_ = gw.Apply(ctx, gateway.Config{
//		Upstreams: []gateway.UpstreamSpec{{Name: "users", Instances: []discovery.Instance{{Addr: "127.0.0.1:9001"}}}},
//		Routes:    []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users"}}},
//	})
//	r := chi.NewRouter()
//	r.Mount("/", gw)
//
// The data path of one request:
//
//	route table (host, method, path) → request id → metrics → access log →
//	route middleware (authn, authz, flow limits, cache…) → strip/rewrite,
//	deadline → proxy → balancer → upstream instance
//
// A route's declaration is a spec.Route — the same model the YAML file and
// the admin API produce, validated by one validation (live.Validate); its
// live part is the handler and middleware. Package live builds a whole
// spec.Config (resolvers, authentication, limits) into a Config for Apply.
//
// The table is immutable and swapped atomically by Apply, so a reload never
// drops or half-applies anything. Each concern lives in its own package and
// works alone as well: route, proxy, balance, discovery, health, upstream,
// metrics, accesslog, requestid, problem. Server runs a Gateway with a
// separate admin listener (/metrics, /livez, /readyz) and drains on shutdown
// so that a scale-in drops no request.
package gateway
