// Package tracing traces the gateway's requests with OpenTelemetry: a
// server span per request (Tracer.Middleware), a client span per upstream
// attempt (Tracer.StartAttempt, through proxy.WithTracer, so retries and
// the calls of a composite route are spans of their own), and W3C trace
// context (traceparent, tracestate) and baggage propagated to upstreams.
// Whether a caller's own trace context is continued or a new trace started
// for it (an edge gateway's choice: callers on the internet should not
// decide sampling nor hand baggage to upstreams) is Config.IncomingContext.
// Spans are exported over OTLP, gRPC or HTTP.
//
// Config says where to and which traces are kept; what it leaves empty the
// standard OTEL_* environment variables give (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME, ...):
// a setting in Config wins over the environment, key by key.
//
// Tracing is off unless an endpoint is named: New returns a nil *Tracer,
// and gateway.WithTracing(nil) installs nothing, so the request path runs
// no tracing code at all (BenchmarkTracing measures it). See
// docs/operations.md, "Tracing", for the span model and attributes.
package tracing
