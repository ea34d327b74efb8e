package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
)

// Span attribute keys the gateway sets beyond OpenTelemetry's HTTP
// conventions.
const (
	AttrRoute      = attribute.Key("gatescale.route")
	AttrUpstream   = attribute.Key("gatescale.upstream")
	AttrInstance   = attribute.Key("gatescale.instance")
	AttrAttempt    = attribute.Key("gatescale.attempt")
	AttrAttempts   = attribute.Key("gatescale.attempts")
	AttrConsumerID = attribute.Key("gatescale.consumer.id")
	AttrError      = attribute.Key("gatescale.error")
)

// instrumentation names the gateway's tracer (the instrumentation scope).
const instrumentation = "github.com/gatescale/gatescale/gateway/tracing"

// Tracer makes the gateway's spans: a server span per request
// (Middleware) and a client span per upstream attempt (StartAttempt), and
// propagates W3C trace context and baggage to upstreams. A nil *Tracer is
// tracing off: Middleware returns its handler unchanged and Shutdown does
// nothing, so an untraced gateway runs no tracing code at all.
type Tracer struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	describe   string
	// incoming is Config.IncomingContext ("" is IncomingContinue).
	incoming string
	// clear are the headers an attempt must not pass on from the caller
	// (the propagator's own, which it injects only when the context holds
	// a value): nil when the caller's context is always taken.
	clear []string
}

// New returns a Tracer exporting as c says, with the OTEL_* environment
// filling what c leaves empty; nil (tracing off) when neither names an
// endpoint (nor c an Exporter), or when OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none. An invalid c is an error (see Validate).
// Nothing is dialled yet: an unreachable collector loses spans, it does not
// stop the gateway. Shut the Tracer down to flush them.
func New(ctx context.Context, c Config) (*Tracer, error) {
	r, err := resolve(c, readEnvironment(getenv))
	if err != nil || !r.on {
		return nil, err
	}
	exp := c.Exporter
	if exp == nil {
		if exp, err = newExporter(ctx, r.Config); err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
	}
	// Later options win: the default name, then the environment
	// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), then Config.
	ropts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(),
	}
	if c.ServiceName != "" {
		ropts = append(ropts, resource.WithAttributes(attribute.String("service.name", c.ServiceName)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	popts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	// Without a sampler the SDK reads OTEL_TRACES_SAMPLER(_ARG); its
	// default is parent-based always-on.
	if c.SamplingRatio != nil {
		popts = append(popts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*c.SamplingRatio))))
	}
	tp := sdktrace.NewTracerProvider(popts...)
	t := &Tracer{
		provider:   tp,
		tracer:     tp.Tracer(instrumentation),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		describe:   describe(r, c.Exporter != nil),
		incoming:   c.IncomingContext,
	}
	if t.incoming != "" && t.incoming != IncomingContinue {
		t.clear = t.propagator.Fields()
	}
	return t, nil
}

func newExporter(ctx context.Context, c Config) (sdktrace.SpanExporter, error) {
	switch c.Protocol {
	case ProtocolGRPC:
		var opts []otlptracegrpc.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(c.Endpoint))
		}
		if c.Headers != nil {
			opts = append(opts, otlptracegrpc.WithHeaders(c.Headers))
		}
		if c.Timeout > 0 {
			opts = append(opts, otlptracegrpc.WithTimeout(c.Timeout))
		}
		return otlptracegrpc.New(ctx, opts...)
	default:
		var opts []otlptracehttp.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(tracesURL(c.Endpoint)))
		}
		if c.Headers != nil {
			opts = append(opts, otlptracehttp.WithHeaders(c.Headers))
		}
		if c.Timeout > 0 {
			opts = append(opts, otlptracehttp.WithTimeout(c.Timeout))
		}
		return otlptracehttp.New(ctx, opts...)
	}
}

// tracesURL is the HTTP traces URL of a base endpoint, as the
// specification derives it from OTEL_EXPORTER_OTLP_ENDPOINT. An endpoint
// that already ends in /v1/traces is taken as the full traces URL (as
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is), since collectors document that
// form and appending again would post to /v1/traces/v1/traces.
func tracesURL(base string) string {
	u, err := url.Parse(base)
	if err != nil { // Validate refused it already
		return base
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path += "/v1/traces"
	}
	return u.String()
}

func describe(r resolved, custom bool) string {
	switch {
	case custom:
		return "custom exporter"
	case r.Endpoint != "":
		return r.Protocol + " " + r.Endpoint
	default:
		return r.Protocol + " endpoint from OTEL_EXPORTER_OTLP_*"
	}
}

// String says where spans go, for a startup log line.
func (t *Tracer) String() string {
	if t == nil {
		return "off"
	}
	return t.describe
}

// Shutdown exports the spans still buffered and stops the exporter; spans
// ended later are dropped. Call it once the server has stopped serving.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// ForceFlush exports the spans buffered so far.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Middleware starts the server span of each request and ends it with the
// route, upstream, instance, attempts and status the request ended with.
// When the caller's context is taken (Config.IncomingContext) the span
// continues the trace of the traceparent it sent, and its baggage goes
// upstream; otherwise the span starts a new trace, linked to the caller's
// span. Mount it outermost, so the span covers the rest of the chain. On a
// nil Tracer it returns next itself.
func (t *Tracer) Middleware(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A span already in r's context is the embedding program's own,
		// not the caller's: it stays the parent either way.
		ctx := r.Context()
		opts := make([]trace.SpanStartOption, 1, 2)
		opts[0] = trace.WithSpanKind(trace.SpanKindServer)
		if t.trusts(r) {
			ctx = t.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
		} else if link := callerLink(r); link != nil {
			opts = append(opts, link)
		}
		route := outcome.Route(r)
		name := spanMethod(r.Method)
		if route != "" {
			name += " " + route
		}
		ctx, span := t.tracer.Start(ctx, name, opts...)
		rec := outcome.Wrap(w)
		panicked := true
		defer func() {
			if span.IsRecording() {
				serverAttributes(span, r, route, outcome.Status(r, rec, panicked))
			}
			span.End()
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
		panicked = false
	})
}

// trusts reports whether r's trace context and baggage are taken, as
// Config.IncomingContext says.
func (t *Tracer) trusts(r *http.Request) bool {
	switch t.incoming {
	case IncomingRestart:
		return false
	case IncomingTrustedProxies:
		// The client as the route table (or request.TrustProxies) decided
		// it; with neither, no peer is a trusted proxy.
		return request.ClientOf(r, nil).ViaTrustedProxy
	}
	return true
}

// callerLink is a link to the span context of r's traceparent, or nil
// without a valid one. Its tracestate is left out: the link records where
// the caller's trace is, not the caller's vendor data.
func callerLink(r *http.Request) trace.SpanStartOption {
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
	if !sc.IsValid() {
		return nil
	}
	return trace.WithLinks(trace.Link{SpanContext: sc.WithTraceState(trace.TraceState{})})
}

func serverAttributes(span trace.Span, r *http.Request, route string, status int) {
	attrs := make([]attribute.KeyValue, 0, 14)
	attrs = appendMethod(attrs, r.Method)
	// server.address without the port, which is server.port, as the
	// semantic conventions have it.
	host := r.Host
	if h, port, err := net.SplitHostPort(host); err == nil {
		host = h
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	attrs = append(attrs,
		attribute.String("url.path", r.URL.Path), // never the query: it may carry a key
		attribute.String("url.scheme", scheme(r)),
		attribute.String("server.address", host),
		attribute.String("network.protocol.version", protoVersion(r)),
		attribute.Int("http.response.status_code", status),
		AttrRoute.String(route),
	)
	if info := request.InfoFrom(r.Context()); info != nil {
		st := info.State()
		if c, ok := info.Client(); ok && c.Host != "" {
			attrs = append(attrs, attribute.String("client.address", c.Host))
		}
		if st.Upstream != "" {
			attrs = append(attrs, AttrUpstream.String(st.Upstream))
		}
		if st.Instance != "" {
			attrs = append(attrs, AttrInstance.String(st.Instance))
		}
		if st.Attempts > 0 {
			attrs = append(attrs, AttrAttempts.Int(st.Attempts))
		}
		if st.Error != "" {
			attrs = append(attrs, AttrError.String(st.Error))
		}
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// StartAttempt starts the client span of one upstream attempt (n counts
// from 1: each retry is a span of its own), as a child of the span in
// out's context, and writes that span's traceparent, tracestate and the
// baggage into out.Header, which the proxy gives each attempt as its own.
// Unless the caller's context is always taken (IncomingContinue), the
// caller's own tracestate and baggage headers are removed first, so only
// what the context holds goes upstream.
// The returned func ends the span when the proxy is done with the attempt
// (the response body closed or read to EOF), with its status (0 without a
// response) and error. It implements proxy.Tracer.
func (t *Tracer) StartAttempt(out *http.Request, upstream, instance string, n int) func(status int, err error) {
	ctx := out.Context()
	parent := trace.SpanFromContext(ctx)
	ctx, span := t.tracer.Start(ctx, spanMethod(out.Method)+" "+upstream, trace.WithSpanKind(trace.SpanKindClient))
	// Inject writes tracestate and baggage only when the context has them:
	// the caller's headers, copied with the rest, would otherwise pass.
	for _, h := range t.clear {
		out.Header.Del(h)
	}
	t.propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	if !span.IsRecording() {
		return func(int, error) { span.End() }
	}
	attrs := appendMethod(make([]attribute.KeyValue, 0, 10), out.Method)
	attrs = append(attrs,
		attribute.String("url.path", out.URL.Path),
		AttrUpstream.String(upstream),
		AttrInstance.String(instance),
		AttrAttempt.Int(n),
	)
	// SplitHostPort, not a cut at the first colon: an IPv6 instance is
	// "[::1]:8080".
	if host, port, err := net.SplitHostPort(instance); err == nil {
		attrs = append(attrs, attribute.String("server.address", host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	}
	if info := request.InfoFrom(ctx); info != nil {
		attrs = append(attrs, AttrRoute.String(info.Route))
	}
	// The consumer id, never a credential. The server span gets it here
	// too: authentication runs below the server span's middleware, so the
	// identity is in the context only from the route's chain on.
	if id := consumer.FromContext(ctx); !id.Anonymous() {
		attrs = append(attrs, AttrConsumerID.String(id.ConsumerID))
		parent.SetAttributes(AttrConsumerID.String(id.ConsumerID))
	}
	span.SetAttributes(attrs...)
	return func(status int, err error) {
		if status > 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		switch {
		case err != nil:
			span.SetAttributes(attribute.String("error.type", errorType(err)))
			span.SetStatus(codes.Error, errorType(err))
		case status >= 500:
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// knownMethod reports whether m is one of the methods the HTTP semantic
// conventions name; any other is a client's choice, unbounded.
func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return true
	}
	return false
}

// spanMethod is the method part of a span name: "HTTP" for an unknown
// method, so a client cannot mint span names (operations) at will.
func spanMethod(m string) string {
	if knownMethod(m) {
		return m
	}
	return "HTTP"
}

// appendMethod adds http.request.method, "_OTHER" for an unknown method
// with the method sent in http.request.method_original, as the semantic
// conventions (and otelhttp) do.
func appendMethod(attrs []attribute.KeyValue, m string) []attribute.KeyValue {
	if knownMethod(m) {
		return append(attrs, attribute.String("http.request.method", m))
	}
	return append(attrs, attribute.String("http.request.method", "_OTHER"), attribute.String("http.request.method_original", m))
}

// errorType names an attempt's failure without addresses.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "timed out"), strings.Contains(s, "timeout"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "reset"):
		return "connection reset"
	case strings.Contains(s, "EOF"):
		return "connection closed"
	}
	return fmt.Sprintf("%T", err)
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func protoVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "2"
	case 3:
		return "3"
	}
	return "1." + strconv.Itoa(r.ProtoMinor)
}
