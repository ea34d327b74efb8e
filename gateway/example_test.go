package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A gateway mounted on the service's own chi router.
func Example() {
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user service got %s", r.URL.Path)
	}))
	defer users.Close()

	gw, _ := gateway.New(gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(false))
	defer gw.Close()
	err := gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{
			Name:      "users",
			Instances: []discovery.Instance{{Addr: strings.TrimPrefix(users.URL, "http://")}},
			Balancer:  balance.P2C{},
		}},
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users", Timeout: spec.Duration(5 * time.Second)}}},
	})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Mount("/api", gw) // routes see the path below /api, as chi sub-routers do
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/api/users/42")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 user service got /users/42
}

// Apply refuses a bad configuration as a whole and keeps the running one.
func ExampleGateway_Apply() {
	gw, _ := gateway.New(gateway.WithAccessLog(false))
	defer gw.Close()
	err := gw.Apply(context.Background(), gateway.Config{
		Routes: []route.Route{{Route: spec.Route{Name: "orders", PathPrefix: "/orders", Upstream: "orders"}}},
	})
	fmt.Println(err)
	// Output: routes[0].upstream: "orders" is not defined
}

// Server drains on shutdown: readiness fails, requests are still served for
// DrainPeriod, then in-flight requests finish.
func ExampleServer() {
	gw, _ := gateway.New(gateway.WithAccessLog(false))
	defer gw.Close()
	_ = gw.Apply(context.Background(), gateway.Config{})
	ctx, stop := context.WithCancel(context.Background())
	srv := &gateway.Server{
		Gateway: gw, Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		DrainPeriod: 10 * time.Millisecond,
		Ready:       func(addr net.Addr) { fmt.Println("serving"); stop() },
	}
	fmt.Println(srv.Run(ctx))
	// Output:
	// serving
	// <nil>
}

// Upstreams lists the running upstreams, e.g. for a status page.
func ExampleGateway_Upstreams() {
	gw, _ := gateway.New(gateway.WithAccessLog(false))
	defer gw.Close()
	_ = gw.Apply(context.Background(), gateway.Config{Upstreams: []gateway.UpstreamSpec{
		{Name: "users", Instances: []discovery.Instance{{Addr: "127.0.0.1:9001"}, {Addr: "127.0.0.1:9002"}}},
		{Name: "orders", Instances: []discovery.Instance{{Addr: "127.0.0.1:9101"}}},
	}})
	for _, u := range gw.Upstreams() {
		fmt.Println(u.Name(), u.Admitted())
	}
	// Output:
	// orders 1
	// users 2
}

// Proxy mounts one upstream on a router of one's own, with the gateway-wide
// chain (request id, metrics, access log) but none of a route's settings.
func ExampleGateway_Proxy() {
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "legacy got %s with a request id: %t", r.URL.Path, r.Header.Get("X-Request-Id") != "")
	}))
	defer legacy.Close()
	gw, _ := gateway.New(gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(false))
	defer gw.Close()
	_ = gw.Apply(context.Background(), gateway.Config{Upstreams: []gateway.UpstreamSpec{
		{Name: "legacy", Instances: []discovery.Instance{{Addr: strings.TrimPrefix(legacy.URL, "http://")}}},
	}})
	r := chi.NewRouter()
	r.Handle("/legacy/*", gw.Proxy("legacy")) // counted in the metrics as route "legacy"
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/legacy/report")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 legacy got /legacy/report with a request id: true
}
