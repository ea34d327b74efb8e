package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
)

// WithTracing gives every request a server span and every upstream
// attempt a client span (here into an in-memory exporter; tracing.Config
// names an OTLP endpoint in production).
func ExampleWithTracing() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	exp := tracetest.NewInMemoryExporter()
	tracer, err := tracing.New(context.Background(), tracing.Config{Exporter: exp})
	if err != nil {
		panic(err)
	}
	defer tracer.Shutdown(context.Background())
	gw, _ := gateway.New(gateway.WithTracing(tracer), gateway.WithAccessLog(false))
	defer gw.Close()
	_ = gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "users", Instances: []discovery.Instance{{Addr: backend.Listener.Addr().String()}}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "users-api", PathPrefix: "/users", Upstream: "users"}}},
	})
	gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/42", nil))
	_ = tracer.ForceFlush(context.Background())
	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.SpanKind)
	}
	// Output:
	// GET users client
	// GET users-api server
}
