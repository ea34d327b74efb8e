package config

import (
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/gatescale/gatescale/gateway/tracing"
)

// Tracing is the tracing section: OpenTelemetry spans exported over OTLP
// (package tracing). A key left out is taken from the OTEL_* environment;
// a key written here wins over it.
type Tracing struct {
	Endpoint      string            `yaml:"endpoint,omitempty"`
	Protocol      string            `yaml:"protocol,omitempty"`
	SamplingRatio *float64          `yaml:"sampling_ratio,omitempty"`
	ServiceName   string            `yaml:"service_name,omitempty"`
	Headers       map[string]string `yaml:"headers,omitempty"`
	Timeout       Duration          `yaml:"timeout,omitempty"`
	// incoming_context is what the gateway makes of the traceparent,
	// tracestate and baggage a request arrives with: continue (default)
	// continues the caller's trace and passes its baggage on; restart
	// starts a new trace, linked to the caller's span, and drops its
	// tracestate and baggage (for an edge gateway); trusted_proxies
	// continues for requests from trusted_proxies and restarts the rest.
	IncomingContext string `yaml:"incoming_context,omitempty"`
}

// Config maps the section onto the tracing package's options; a nil
// section is the zero Config (tracing only if the environment asks).
func (t *Tracing) Config() tracing.Config {
	if t == nil {
		return tracing.Config{}
	}
	return tracing.Config{
		Endpoint: t.Endpoint, Protocol: t.Protocol, SamplingRatio: t.SamplingRatio,
		ServiceName: t.ServiceName, Headers: t.Headers, Timeout: time.Duration(t.Timeout),
		IncomingContext: t.IncomingContext,
	}
}

// tracingSection validates the tracing section.
func (p *parseState) tracingSection(l *Loaded) {
	l.Tracing = p.file.Tracing.Config()
	for _, err := range unjoin(l.Tracing.Validate()) {
		var fe *tracing.FieldError
		if errors.As(err, &fe) {
			p.errf(join("tracing", fe.Field), "%s", fe.Message)
		} else {
			p.errf("tracing", "%v", err)
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// tracingChanges names the tracing keys that differ, or tracing itself when
// the section was added or removed. The tracer is built once at start, so
// they need a restart.
func tracingChanges(a, b *Tracing) []string {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil || b == nil:
		return []string{"tracing"}
	}
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	var out []string
	for key, f := range yamlFields(reflect.TypeFor[Tracing]()) {
		if !reflect.DeepEqual(va.FieldByIndex(f.Index).Interface(), vb.FieldByIndex(f.Index).Interface()) {
			out = append(out, join("tracing", key))
		}
	}
	slices.Sort(out)
	return out
}
