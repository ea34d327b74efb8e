package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/tracing"
)

// New with nothing configured (and no OTEL_* endpoint in the environment)
// is tracing off: a nil Tracer, which gateway.WithTracing ignores. With an
// endpoint it exports over OTLP; shut it down after the server stops, to
// flush what is buffered.
func ExampleNew() {
	ctx := context.Background()
	off, _ := tracing.New(ctx, tracing.Config{})
	fmt.Println(off)

	ratio := 0.1
	tracer, err := tracing.New(ctx, tracing.Config{
		Endpoint:      "http://127.0.0.1:4317", // nothing is dialled until spans are exported
		Protocol:      tracing.ProtocolGRPC,
		SamplingRatio: &ratio,
		ServiceName:   "edge-gateway",
	})
	if err != nil {
		panic(err)
	}
	defer tracer.Shutdown(ctx)
	fmt.Println(tracer)
	gw, err := gateway.New(gateway.WithTracing(tracer))
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	// Output:
	// off
	// grpc http://127.0.0.1:4317
}

// Middleware makes a server span per request, continuing the caller's
// trace (by default: see Config.IncomingContext); gateway.WithTracing mounts it outermost, where the route is known
// (a request outside a route table is "unmatched").
func ExampleTracer_Middleware() {
	exp := tracetest.NewInMemoryExporter()
	tracer, _ := tracing.New(context.Background(), tracing.Config{Exporter: exp})
	h := tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	_ = tracer.ForceFlush(context.Background()) // Shutdown would also clear the in-memory exporter
	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.SpanKind, s.SpanContext.TraceID(), s.Parent.SpanID())
	}
	// Output:
	// GET unmatched server 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7
}

// An edge gateway that internet clients call does not let them decide its
// traces: with IncomingContext set to IncomingRestart each request starts
// a new trace, which the sampler alone samples, linked to the client's
// span, and the client's tracestate and baggage go no further
// (IncomingTrustedProxies does this only for peers that are not trusted
// proxies).
func ExampleTracer_Middleware_restart() {
	exp := tracetest.NewInMemoryExporter()
	tracer, _ := tracing.New(context.Background(), tracing.Config{Exporter: exp, IncomingContext: tracing.IncomingRestart})
	var upstream http.Header
	h := tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context()) // as the proxy sends it: the client's headers
		tracer.StartAttempt(out, "users", "10.0.0.1:8080", 1)(http.StatusOK, nil)
		upstream = out.Header
	}))
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("Baggage", "role=admin")
	h.ServeHTTP(httptest.NewRecorder(), req)
	_ = tracer.ForceFlush(context.Background())
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			fmt.Println("parent:", s.Parent.IsValid(), "client's trace:", s.SpanContext.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736")
			for _, l := range s.Links {
				fmt.Println("link:", l.SpanContext.TraceID(), l.SpanContext.SpanID())
			}
		}
	}
	fmt.Printf("upstream baggage: %q\n", upstream.Get("Baggage"))
	// Output:
	// parent: false client's trace: false
	// link: 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7
	// upstream baggage: ""
}

// StartAttempt is what proxy.WithTracer calls per attempt: a client span
// whose traceparent goes upstream in the attempt's headers.
func ExampleTracer_StartAttempt() {
	exp := tracetest.NewInMemoryExporter()
	tracer, _ := tracing.New(context.Background(), tracing.Config{Exporter: exp})
	out := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080/users/42", nil)
	end := tracer.StartAttempt(out, "users", "10.0.0.1:8080", 1)
	end(http.StatusOK, nil)
	_ = tracer.ForceFlush(context.Background()) // Shutdown would also clear the in-memory exporter
	s := exp.GetSpans()[0]
	fmt.Println(s.Name, s.SpanKind, out.Header.Get("Traceparent") == "00-"+s.SpanContext.TraceID().String()+"-"+s.SpanContext.SpanID().String()+"-01")
	// Output:
	// GET users client true
}

// Validate names the field of each problem, as the YAML's tracing keys.
func ExampleConfig_Validate() {
	bad := 2.0
	err := tracing.Config{Endpoint: "collector:4317", SamplingRatio: &bad}.Validate()
	var fe *tracing.FieldError
	errors.As(err, &fe)
	fmt.Println(fe.Field)
	fmt.Println(err)
	// Output:
	// endpoint
	// tracing.endpoint: "collector:4317": expected http://host:port or https://host:port
	// tracing.sampling_ratio: 2 is not between 0 and 1
}
