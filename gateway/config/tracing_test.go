package config

import (
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/tracing"
)

const tracingBase = "upstreams: {u: {instances: [\"a:1\"]}}\nroutes: [{name: r, path: /, upstream: u}]\n"

// TestTracingSection: the tracing keys map onto tracing.Config; without
// the section the Config is zero (off unless OTEL_* says otherwise).
func TestTracingSection(t *testing.T) {
	l, err := Parse("f.yaml", []byte(tracingBase+`tracing:
  endpoint: https://otel.example.com:4318/otlp
  protocol: http/protobuf
  sampling_ratio: 0
  service_name: edge
  headers: {Authorization: "Bearer x"}
  timeout: 3s
  incoming_context: restart
`))
	if err != nil {
		t.Fatal(err)
	}
	c := l.Tracing
	if c.Endpoint != "https://otel.example.com:4318/otlp" || c.Protocol != tracing.ProtocolHTTP || c.SamplingRatio == nil || *c.SamplingRatio != 0 ||
		c.ServiceName != "edge" || c.Headers["Authorization"] != "Bearer x" || c.Timeout != 3*time.Second ||
		c.IncomingContext != tracing.IncomingRestart {
		t.Errorf("mapped %+v", c)
	}
	l, err = Parse("f.yaml", []byte(tracingBase))
	if err != nil {
		t.Fatal(err)
	}
	if l.Tracing.Endpoint != "" || l.Tracing.SamplingRatio != nil || l.Tracing.Protocol != "" {
		t.Errorf("no section mapped to %+v", l.Tracing)
	}
}

// TestTracingErrors: each bad key is reported at its place in the file.
func TestTracingErrors(t *testing.T) {
	_, err := Parse("f.yaml", []byte(tracingBase+`tracing:
  endpoint: collector:4317
  protocol: thrift
  sampling_ratio: 1.5
  timeout: -1s
  incoming_context: ignore
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`f.yaml:4:13: tracing.endpoint: "collector:4317": expected http://host:port or https://host:port`,
		`f.yaml:5:13: tracing.protocol: "thrift" is not "grpc" or "http/protobuf"`,
		`f.yaml:6:19: tracing.sampling_ratio: 1.5 is not between 0 and 1`,
		`f.yaml:7:12: tracing.timeout: must not be negative`,
		`f.yaml:8:21: tracing.incoming_context: "ignore" is not "continue", "restart" or "trusted_proxies"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	_, err = Parse("f.yaml", []byte(tracingBase+"tracing: {endpoint: \"http://c:1\", colour: red}\n"))
	if want := "f.yaml:3:35: tracing.colour: unknown key"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestTracingRestart: a changed tracing key needs a restart (the tracer is
// built once); the reload names it.
func TestTracingRestart(t *testing.T) {
	parse := func(extra string) *Loaded {
		t.Helper()
		l, err := Parse("f.yaml", []byte(tracingBase+extra))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	running := parse("tracing: {endpoint: \"http://c:4317\", protocol: grpc, sampling_ratio: 0.5}\n")
	for next, want := range map[string]string{
		"tracing: {endpoint: \"http://c:4317\", protocol: grpc, sampling_ratio: 0.5}\n":                            "",
		"tracing: {endpoint: \"http://d:4317\", protocol: grpc, sampling_ratio: 0.25}\n":                           "tracing.endpoint tracing.sampling_ratio",
		"tracing: {endpoint: \"http://c:4317\", protocol: grpc, sampling_ratio: 0.5, incoming_context: restart}\n": "tracing.incoming_context",
		"": "tracing",
	} {
		if got := strings.Join(RestartRequired(running, parse(next)), " "); got != want {
			t.Errorf("%q: %q, want %q", next, got, want)
		}
	}
}
