package grpcproxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/grpcproxy"
	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A gRPC upstream from Go: an h2c transport of its own, and a route that
// takes the service's path prefix. (The gateway mounts Middleware itself.)
func ExampleNewTransport() {
	tr, err := grpcproxy.NewTransport(grpcproxy.H2C)
	if err != nil {
		panic(err)
	}
	gw, err := gateway.New()
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	err = gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "greeter", Transport: tr,
			Instances: []discovery.Instance{{Addr: "127.0.0.1:50051"}}}},
		Routes: []route.Route{{Route: spec.Route{Name: "greeter", PathPrefix: "/helloworld.Greeter", Upstream: "greeter"}}},
	})
	fmt.Println(tr.Protocol(), err)
	// Output: h2c <nil>
}

// The gateway's own refusal, written as a problem, reaches a gRPC caller
// as a trailers-only status.
func ExampleMiddleware() {
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.Details{Status: http.StatusTooManyRequests, Detail: "rate limit of route orders exceeded"})
	})
	r := httptest.NewRequest("POST", "/orders.Orders/Get", nil)
	r.Header.Set("Content-Type", "application/grpc")
	w := httptest.NewRecorder()
	grpcproxy.Middleware(refuse).ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("Grpc-Status"), w.Header().Get("Grpc-Message"), w.Body.Len())
	// Output: 200 application/grpc 8 rate limit of route orders exceeded 0
}

func ExampleWriteStatus() {
	w := httptest.NewRecorder()
	grpcproxy.WriteStatus(w, grpcstatus.Unavailable, "no healthy instance")
	fmt.Println(w.Code, w.Header().Get("Grpc-Status"), w.Header().Get("Grpc-Message"))
	// Output: 200 14 no healthy instance
}

func ExampleParseTimeout() {
	d, err := grpcproxy.ParseTimeout("250m")
	fmt.Println(d, err)
	// Output: 250ms <nil>
}

func ExampleFormatTimeout() {
	fmt.Println(grpcproxy.FormatTimeout(1500000000), grpcproxy.FormatTimeout(3600e9))
	// Output: 1500000u 3600000m
}
