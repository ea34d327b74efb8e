package tracing

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Protocols of OTLP export.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// What the gateway makes of the trace context a request arrives with (its
// traceparent, tracestate and baggage headers): Config.IncomingContext.
const (
	// IncomingContinue continues the caller's trace: its traceparent is the
	// server span's parent, so its sampled flag decides sampling and its
	// trace id is the trace's, and its tracestate and baggage go on to
	// every upstream. For a gateway whose callers are trusted (behind
	// another proxy that restarts traces, inside a mesh). The default.
	IncomingContinue = "continue"
	// IncomingRestart starts a new trace for every request, as the W3C
	// Trace Context specification has a front gate do ("restart trace")
	// and as OpenTelemetry recommends for public endpoints: the sampler
	// alone decides, the caller's span context is kept only as a link on
	// the server span, and its tracestate and baggage are dropped, so no
	// caller-chosen key/value reaches an upstream. For an edge gateway
	// that internet clients call.
	IncomingRestart = "restart"
	// IncomingTrustedProxies continues the trace when the request's TCP
	// peer is one of the gateway's trusted proxies (request.ClientOf's
	// ViaTrustedProxy: trusted_proxies in the YAML file), and restarts it
	// for every other peer.
	IncomingTrustedProxies = "trusted_proxies"
)

// DefaultServiceName names the gateway's spans when neither Config nor
// OTEL_SERVICE_NAME does.
const DefaultServiceName = "gatescale"

// Config says where spans go and which are kept. Every field left empty is
// taken from the standard OTEL_* environment variables, so a setting made
// here wins over the environment, key by key (see New).
type Config struct {
	// Endpoint is the OTLP receiver's base URL: http://host:port for
	// plaintext, https://host:port for TLS, as OTEL_EXPORTER_OTLP_ENDPOINT.
	// For HTTP export /v1/traces is appended to its path, unless the path
	// already ends in /v1/traces (the full traces URL, as
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT takes it). Empty:
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT;
	// with neither set (and no Exporter) tracing is off.
	Endpoint string
	// Protocol is ProtocolGRPC or ProtocolHTTP. Empty:
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL,
	// else http/protobuf (the OpenTelemetry default).
	Protocol string
	// SamplingRatio, when set, samples that share of the traces that start
	// at the gateway (0 to 1) and follows the caller's decision for the
	// traces it continues (parent-based; see IncomingContext). Nil:
	// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, else every trace.
	SamplingRatio *float64
	// ServiceName is the service.name of the gateway's spans. Empty:
	// OTEL_SERVICE_NAME, else DefaultServiceName. OTEL_RESOURCE_ATTRIBUTES
	// adds to the resource either way.
	ServiceName string
	// Headers are sent with every export (e.g. a collector's API key).
	// Nil: OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS.
	Headers map[string]string
	// Timeout bounds one export. Zero: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT
	// or OTEL_EXPORTER_OTLP_TIMEOUT, else 10s.
	Timeout time.Duration
	// IncomingContext is IncomingContinue, IncomingRestart or
	// IncomingTrustedProxies. Empty: IncomingContinue.
	IncomingContext string

	// Exporter, for Go programs, receives the spans instead of an OTLP
	// exporter built from Endpoint and Protocol (e.g. a test's in-memory
	// exporter). New's Tracer shuts it down.
	Exporter sdktrace.SpanExporter
}

// FieldError is a problem with one field of a Config; Field is its YAML key
// (endpoint, protocol, ...).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "tracing." + e.Field + ": " + e.Message }

// Validate checks the fields set in c, returning every problem as a
// *FieldError (joined).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.Endpoint != "" {
		if msg := checkEndpoint(c.Endpoint); msg != "" {
			bad("endpoint", "%s", msg)
		}
	}
	switch c.Protocol {
	case "", ProtocolGRPC, ProtocolHTTP:
	default:
		bad("protocol", "%q is not %q or %q", c.Protocol, ProtocolGRPC, ProtocolHTTP)
	}
	if r := c.SamplingRatio; r != nil && !(*r >= 0 && *r <= 1) {
		bad("sampling_ratio", "%v is not between 0 and 1", *r)
	}
	switch c.IncomingContext {
	case "", IncomingContinue, IncomingRestart, IncomingTrustedProxies:
	default:
		bad("incoming_context", "%q is not %q, %q or %q", c.IncomingContext, IncomingContinue, IncomingRestart, IncomingTrustedProxies)
	}
	if c.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			bad("headers", "%q is not a header name", k)
		}
	}
	return errors.Join(errs...)
}

// checkEndpoint returns why u is not an OTLP base URL, or "".
func checkEndpoint(u string) string {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL: %v", u, err)
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Sprintf("%q: expected http://host:port or https://host:port", u)
	case p.Host == "":
		return fmt.Sprintf("%q has no host", u)
	case p.User != nil:
		return fmt.Sprintf("%q: put credentials in headers, not in the URL", u)
	case p.RawQuery != "" || p.Fragment != "":
		return fmt.Sprintf("%q: a query or fragment is not allowed", u)
	}
	return ""
}

// environment is the part of the process environment New reads itself;
// the OpenTelemetry SDK reads the rest (sampler, headers, timeout, resource
// attributes) when Config leaves them unset.
type environment struct {
	endpoint string // OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
	protocol string // OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL
	disabled bool   // OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
}

func readEnvironment(getenv func(string) string) environment {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				return v
			}
		}
		return ""
	}
	disabled, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED"))
	return environment{
		endpoint: first("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
		protocol: first("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
		disabled: disabled || strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")) == "none",
	}
}

// resolved is a Config with the environment applied where it said nothing.
type resolved struct {
	Config
	on bool
}

func resolve(c Config, env environment) (resolved, error) {
	if err := c.Validate(); err != nil {
		return resolved{}, err
	}
	r := resolved{Config: c}
	if env.disabled {
		return r, nil
	}
	if c.Exporter != nil {
		r.on = true
		return r, nil
	}
	r.on = c.Endpoint != "" || env.endpoint != ""
	if r.Protocol == "" {
		r.Protocol = env.protocol
		switch r.Protocol {
		case "":
			r.Protocol = ProtocolHTTP
		case ProtocolGRPC, ProtocolHTTP:
		default:
			return resolved{}, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not %q or %q", r.Protocol, ProtocolGRPC, ProtocolHTTP)
		}
	}
	return r, nil
}

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv
