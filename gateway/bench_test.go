package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// BenchmarkMatchAndPick is the per-request routing decision: find the route
// in the table and pick an instance of its upstream. Goal: 0 allocs.
func BenchmarkMatchAndPick(b *testing.B) {
	for _, policy := range []balance.Policy{balance.RoundRobin{}, balance.Weighted{}, balance.P2C{}, balance.Hash{Key: balance.HeaderKey("X-User")}} {
		b.Run(policy.Name(), func(b *testing.B) {
			var insts []discovery.Instance
			for _, a := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"} {
				insts = append(insts, discovery.Instance{Addr: a, Weight: 2})
			}
			up := upstream.New("u", discovery.NewStatic(map[string][]discovery.Instance{"u": insts}), upstream.WithPolicy(policy),
				upstream.WithLogger(slog.New(slog.DiscardHandler)))
			up.Start(context.Background())
			defer up.Close()
			<-up.Ready()
			tbl, err := route.NewTable([]route.Route{
				{Route: spec.Route{Name: "users", Path: "/users/{id}"}, Handler: http.NotFoundHandler()},
				{Route: spec.Route{Name: "orders", PathPrefix: "/orders"}, Handler: http.NotFoundHandler()},
				{Route: spec.Route{Name: "catalog", Path: "/catalog/{a}/{b}"}, Handler: http.NotFoundHandler()},
			})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/orders/42/items", nil)
			req.Header.Set("X-User", "alice")
			rctx := chi.NewRouteContext()
			b.ReportAllocs()
			for b.Loop() {
				if tbl.Find(rctx, req.Host, req.Method, req.URL.Path) == nil || up.Pick(req) == nil {
					b.Fatal("no route or instance")
				}
			}
		})
	}
}

// BenchmarkProxy is the whole path through a real loopback connection: a
// client, the gateway (request id, metrics, access log off, proxy) and an
// in-process backend.
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":42,"name":"alice"}`)
	}))
	defer backend.Close()
	gw, err := gateway.New(gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(false))
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	err = gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{{Addr: backend.Listener.Addr().String()}}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(gw)
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(front.URL + "/users/42")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkGatewayHandler measures the gateway's own work per request
// without sockets on the client side: ServeHTTP with a recorder, proxying
// to a loopback backend.
func BenchmarkGatewayHandler(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	benchProxied(b, backend.Listener.Addr().String(), gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(false))
}

// benchProxied measures GET /users/42 through a gateway made with opts and
// one route to addr.
func benchProxied(b *testing.B, addr string, opts ...gateway.Option) {
	b.Helper()
	gw, err := gateway.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	if err := gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{{Addr: addr}}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", "/users/42", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkGatewayAccessLog is BenchmarkGatewayHandler under each access
// log setting: none, the default slog middleware, and accesslog.Log in
// json, excluded, sampled out and disabled. Compare ns/op and allocs/op
// with "none" (make bench prints them).
func BenchmarkGatewayAccessLog(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	zero := 0.0
	logOpts := map[string]accesslog.Options{
		"log-json":        {},
		"log-combined":    {Format: accesslog.FormatCombined},
		"log-excluded":    {ExcludePaths: []string{"/users/*"}},
		"log-sampled-out": {SampleRatio: &zero},
		"log-disabled":    {Disabled: true},
	}
	for _, name := range []string{"none", "slog", "log-json", "log-combined", "log-excluded", "log-sampled-out", "log-disabled"} {
		b.Run(name, func(b *testing.B) {
			opts := []gateway.Option{gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(name == "slog"),
				gateway.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))}
			if o, ok := logOpts[name]; ok {
				o.Writer = io.Discard
				l, err := accesslog.New(o)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, gateway.WithMiddleware(l.Middleware))
			}
			benchProxied(b, backend.Listener.Addr().String(), opts...)
		})
	}
}
