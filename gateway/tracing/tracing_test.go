package tracing

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/upstream"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestResolve: what Config sets wins over the environment, the environment
// fills the rest, and without an endpoint tracing is off.
func TestResolve(t *testing.T) {
	half := 0.5
	for _, c := range []struct {
		name     string
		cfg      Config
		env      map[string]string
		on       bool
		protocol string
		desc     string
	}{
		{"nothing", Config{}, nil, false, "", "off"},
		{"yaml only", Config{Endpoint: "http://c:4317", Protocol: ProtocolGRPC, SamplingRatio: &half}, nil, true, ProtocolGRPC, "grpc http://c:4317"},
		{"env endpoint", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318"}, true, ProtocolHTTP, "http/protobuf endpoint from OTEL_EXPORTER_OTLP_*"},
		{"env traces endpoint and protocol", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://e:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, ProtocolGRPC, "grpc endpoint from OTEL_EXPORTER_OTLP_*"},
		{"yaml protocol wins", Config{Protocol: ProtocolHTTP}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, ProtocolHTTP, "http/protobuf endpoint from OTEL_EXPORTER_OTLP_*"},
		{"yaml endpoint wins", Config{Endpoint: "http://y:4318"}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318"}, true, ProtocolHTTP, "http/protobuf http://y:4318"},
		{"sdk disabled", Config{Endpoint: "http://y:4318"}, map[string]string{"OTEL_SDK_DISABLED": "true"}, false, "", "off"},
		{"exporter none", Config{Endpoint: "http://y:4318"}, map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false, "", "off"},
	} {
		r, err := resolve(c.cfg, readEnvironment(env(c.env)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		desc := "off"
		if r.on {
			desc = describe(r, false)
		}
		if r.on != c.on || c.on && r.Protocol != c.protocol || desc != c.desc {
			t.Errorf("%s: on=%v protocol=%q desc=%q, want %v %q %q", c.name, r.on, r.Protocol, desc, c.on, c.protocol, c.desc)
		}
	}
	if _, err := resolve(Config{}, readEnvironment(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}))); err == nil {
		t.Error("an unsupported OTEL_EXPORTER_OTLP_PROTOCOL was accepted")
	}
}

func TestValidate(t *testing.T) {
	bad, neg := 1.5, -0.1
	for _, c := range []struct {
		cfg   Config
		field string
	}{
		{Config{Endpoint: "collector:4317"}, "endpoint"},
		{Config{Endpoint: "ftp://c:1"}, "endpoint"},
		{Config{Endpoint: "http://"}, "endpoint"},
		{Config{Endpoint: "http://user:pw@c:1"}, "endpoint"},
		{Config{Endpoint: "http://c:1?x=1"}, "endpoint"},
		{Config{Protocol: "http/json"}, "protocol"},
		{Config{SamplingRatio: &bad}, "sampling_ratio"},
		{Config{SamplingRatio: &neg}, "sampling_ratio"},
		{Config{Timeout: -1}, "timeout"},
		{Config{Headers: map[string]string{"bad name": "x"}}, "headers"},
		{Config{IncomingContext: "ignore"}, "incoming_context"},
	} {
		err := c.cfg.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: got %v, want an error on %s", c.cfg, err, c.field)
		}
	}
	ok := 0.0
	if err := (Config{Endpoint: "https://c:4318/otlp", Protocol: ProtocolHTTP, SamplingRatio: &ok, Headers: map[string]string{"Authorization": "x"}}).Validate(); err != nil {
		t.Error(err)
	}
	for _, mode := range []string{"", IncomingContinue, IncomingRestart, IncomingTrustedProxies} {
		if err := (Config{IncomingContext: mode}).Validate(); err != nil {
			t.Errorf("incoming context %q: %v", mode, err)
		}
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":       "http://c:4318/v1/traces",
		"http://c:4318/":      "http://c:4318/v1/traces",
		"https://c:443/otlp/": "https://c:443/otlp/v1/traces",
	} {
		if got := tracesURL(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestOffIsNil: without an endpoint New returns nil, and a nil Tracer's
// middleware is the handler itself.
func TestOffIsNil(t *testing.T) {
	getenv = env(nil)
	defer func() { getenv = os.Getenv }()
	tr, err := New(context.Background(), Config{})
	if err != nil || tr != nil {
		t.Fatalf("New: %v, %v; want nil, nil", tr, err)
	}
	h := http.Handler(http.NewServeMux())
	if tr.Middleware(h) != h {
		t.Error("a nil Tracer's middleware wraps the handler")
	}
	if tr.Shutdown(context.Background()) != nil || tr.ForceFlush(context.Background()) != nil || tr.String() != "off" {
		t.Error("a nil Tracer's methods are not no-ops")
	}
}

// TestAttemptPropagation: through proxy.Do directly (as composite calls
// run), each attempt is a client span, child of the span in the request's
// context, whose traceparent the upstream receives; the caller's request
// headers are left alone.
func TestAttemptPropagation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	calls := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Traceparent"))
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	up := upstream.New("u", discovery.NewStatic(map[string][]discovery.Instance{"u": {{Addr: backend.Listener.Addr().String()}}}),
		upstream.WithPolicy(balance.RoundRobin{}))
	up.Start(context.Background())
	defer up.Close()
	<-up.Ready()
	p := proxy.New(up, proxy.WithTracer(tr), proxy.WithRetry(proxy.Retry{Attempts: 2}))

	ctx, parent := tr.tracer.Start(context.Background(), "parent")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://u/x?api_key=secret", nil)
	req.Header.Set("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
	resp, res, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	parent.End()
	if res.Attempts != 2 {
		t.Fatalf("%d attempts, want 2", res.Attempts)
	}
	if req.Header.Get("Traceparent") != "00-11111111111111111111111111111111-2222222222222222-01" {
		t.Error("Do changed the caller's header")
	}
	_ = tr.ForceFlush(context.Background())
	spans := exp.GetSpans()
	var attempts []tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindClient {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 2 || len(got) != 2 {
		t.Fatalf("%d attempt spans, %d upstream requests; want 2 and 2", len(attempts), len(got))
	}
	for i, a := range attempts {
		if a.Parent.SpanID() != parent.SpanContext().SpanID() || a.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("attempt %d is not a child of the caller's span", i+1)
		}
		want := "00-" + a.SpanContext.TraceID().String() + "-" + a.SpanContext.SpanID().String() + "-01"
		if got[i] != want {
			t.Errorf("attempt %d: upstream got traceparent %q, want %q", i+1, got[i], want)
		}
		for _, kv := range a.Attributes {
			if strings.Contains(kv.Value.String(), "secret") {
				t.Errorf("attempt %d: attribute %s carries the query", i+1, kv.Key)
			}
		}
	}
	if attempts[0].Status.Code.String() != "Error" {
		t.Errorf("the 502 attempt's status is %v, want Error", attempts[0].Status.Code)
	}
}

// TestAttemptServerAddressIPv6: an attempt to an IPv6 instance
// ("[::1]:8080") names its server.address and server.port as the
// semantic conventions say ("::1", 8080), not "[" and nothing.
func TestAttemptServerAddressIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	backend.Listener = ln
	backend.Start()
	defer backend.Close()
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	instance := ln.Addr().String()
	up := upstream.New("u", discovery.NewStatic(map[string][]discovery.Instance{"u": {{Addr: instance}}}),
		upstream.WithPolicy(balance.RoundRobin{}))
	up.Start(context.Background())
	defer up.Close()
	<-up.Ready()
	p := proxy.New(up, proxy.WithTracer(tr))
	req, _ := http.NewRequest(http.MethodGet, "http://u/x", nil)
	resp, _, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = tr.ForceFlush(context.Background())
	port := ln.Addr().(*net.TCPAddr).Port
	var found bool
	for _, s := range exp.GetSpans() {
		if s.SpanKind != trace.SpanKindClient {
			continue
		}
		found = true
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		if attrs["server.address"] != "::1" || attrs["server.port"] != strconv.Itoa(port) {
			t.Errorf("instance %s: server.address %q, server.port %q; want ::1 and %d", instance, attrs["server.address"], attrs["server.port"], port)
		}
	}
	if !found {
		t.Fatal("no attempt span")
	}
}

// TestUnknownMethodBounded: a method outside the standard set does not
// become part of a span name (tracing backends index operations by name:
// every odd method a client sends would mint one); as the HTTP semantic
// conventions say, the span is named "HTTP ROUTE", http.request.method is
// "_OTHER" and the method sent goes to http.request.method_original.
func TestUnknownMethodBounded(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, m := range []string{"GET", "PURGE-1f3a"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/x", nil))
	}
	out, _ := http.NewRequest("PURGE-1f3a", "http://u/x", nil)
	tr.StartAttempt(out, "u", "127.0.0.1:1", 1)(200, nil)
	_ = tr.ForceFlush(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	attrs := func(s tracetest.SpanStub) map[string]string {
		out := map[string]string{}
		for _, kv := range s.Attributes {
			out[string(kv.Key)] = kv.Value.String()
		}
		return out
	}
	if a := attrs(spans[0]); spans[0].Name != "GET unmatched" || a["http.request.method"] != "GET" || a["http.request.method_original"] != "" {
		t.Errorf("GET: span %q, attributes %v", spans[0].Name, a)
	}
	if a := attrs(spans[1]); spans[1].Name != "HTTP unmatched" || a["http.request.method"] != "_OTHER" || a["http.request.method_original"] != "PURGE-1f3a" {
		t.Errorf("PURGE-1f3a: span %q, method %q, original %q; want \"HTTP unmatched\", _OTHER, PURGE-1f3a",
			spans[1].Name, a["http.request.method"], a["http.request.method_original"])
	}
	if a := attrs(spans[2]); spans[2].Name != "HTTP u" || a["http.request.method"] != "_OTHER" || a["http.request.method_original"] != "PURGE-1f3a" {
		t.Errorf("attempt: span %q, method %q, original %q; want \"HTTP u\", _OTHER, PURGE-1f3a",
			spans[2].Name, a["http.request.method"], a["http.request.method_original"])
	}
}

// TestServerAddressWithoutPort: the server span's server.address is the
// host the client asked for without its port, which goes to server.port,
// as the semantic conventions (and otelhttp) have it; "api.example.com"
// and "api.example.com:8443" are one server address.
func TestServerAddressWithoutPort(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, host := range []string{"api.example.com:8443", "[2001:db8::1]:8080", "api.example.com"} {
		req := httptest.NewRequest("GET", "/x", nil)
		req.Host = host
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	_ = tr.ForceFlush(context.Background())
	var got []string
	for _, s := range exp.GetSpans() {
		a := map[string]string{}
		for _, kv := range s.Attributes {
			a[string(kv.Key)] = kv.Value.String()
		}
		got = append(got, a["server.address"]+" "+a["server.port"])
	}
	want := []string{"api.example.com 8443", "2001:db8::1 8080", "api.example.com "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server.address and server.port: %q, want %q", got, want)
	}
}

// TestEndpointFullTracesURL: an endpoint written as the full traces URL
// (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT takes it, and as collectors
// document it) must be used as it is; appending /v1/traces again sent
// spans to /v1/traces/v1/traces, where collectors answer 404 and the spans
// are lost. A base URL still gets /v1/traces appended.
func TestEndpointFullTracesURL(t *testing.T) {
	getenv = env(nil)
	defer func() { getenv = os.Getenv }()
	paths := make(chan string, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		paths <- r.URL.Path
	}))
	defer collector.Close()
	for _, endpoint := range []string{
		collector.URL,                      // base URL
		collector.URL + "/v1/traces",       // full traces URL
		collector.URL + "/otlp/v1/traces/", // full, behind a path prefix
	} {
		want := "/v1/traces"
		if strings.Contains(endpoint, "/otlp") {
			want = "/otlp/v1/traces"
		}
		tr, err := New(context.Background(), Config{Endpoint: endpoint, Protocol: ProtocolHTTP})
		if err != nil || tr == nil {
			t.Fatalf("New(%s): %v, %v", endpoint, tr, err)
		}
		tr.Middleware(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Errorf("endpoint %s: export: %v", endpoint, err)
		}
		select {
		case got := <-paths:
			if got != want {
				t.Errorf("endpoint %s: spans posted to %s, want %s", endpoint, got, want)
			}
		default:
			t.Errorf("endpoint %s: no export reached the collector", endpoint)
		}
	}
}

// The trace context a client sends in the incoming-context tests: sampled,
// with vendor data and baggage of its choosing.
const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan   = "00f067aa0ba902b7"
	clientParent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

// heard is what a real upstream received of the trace headers.
type heard struct{ traceparent, tracestate, baggage string }

// throughIncoming sends one request with the client's trace context
// through tr's middleware, request.TrustProxies(trusted) in front of it (as
// a route table decides the client), and a proxy with tr's attempt hook to
// a real upstream; it returns what the upstream heard and the spans
// exported.
func throughIncoming(t *testing.T, tr *Tracer, exp *tracetest.InMemoryExporter, trusted netip.Prefix) (heard, tracetest.SpanStubs) {
	t.Helper()
	got := make(chan heard, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- heard{r.Header.Get("Traceparent"), r.Header.Get("Tracestate"), r.Header.Get("Baggage")}
	}))
	defer backend.Close()
	up := upstream.New("u", discovery.NewStatic(map[string][]discovery.Instance{"u": {{Addr: backend.Listener.Addr().String()}}}),
		upstream.WithPolicy(balance.RoundRobin{}))
	up.Start(context.Background())
	defer up.Close()
	<-up.Ready()
	h := request.TrustProxies(trusted)(tr.Middleware(proxy.New(up, proxy.WithTracer(tr))))
	req := httptest.NewRequest(http.MethodGet, "/x", nil) // from 192.0.2.1
	req.Header.Set("Traceparent", clientParent)
	req.Header.Set("Tracestate", "vendor=client-chosen")
	req.Header.Set("Baggage", "tenant=client-chosen")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req) // the spans end before it returns
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	exp.Reset()
	return <-got, spans
}

// TestIncomingContextSampling: at sampling_ratio 0, a client's sampled
// traceparent decides sampling and the trace id when the gateway continues
// the caller's context (both spans exported, the upstream hears the
// client's trace, tracestate and baggage), and decides nothing when it
// restarts: no span exported, the upstream hears an unsampled traceparent
// of another trace and neither the tracestate nor the baggage. With
// trusted_proxies the peer decides which of the two happens.
func TestIncomingContextSampling(t *testing.T) {
	zero := 0.0
	peer := netip.MustParsePrefix("192.0.2.0/24") // httptest.NewRequest's client
	other := netip.MustParsePrefix("10.0.0.0/8")  // a proxy elsewhere
	for _, c := range []struct {
		mode      string
		trusted   netip.Prefix
		continued bool
	}{
		{"", other, true},
		{IncomingContinue, other, true},
		{IncomingRestart, peer, false},
		{IncomingTrustedProxies, peer, true},
		{IncomingTrustedProxies, other, false},
	} {
		name := c.mode + " from " + c.trusted.String()
		exp := tracetest.NewInMemoryExporter()
		tr, err := New(context.Background(), Config{Exporter: exp, SamplingRatio: &zero, IncomingContext: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		got, spans := throughIncoming(t, tr, exp, c.trusted)
		if c.continued {
			if len(spans) != 2 {
				t.Errorf("%s: %d spans exported, want the server and the attempt span (the client sampled)", name, len(spans))
			}
			if !strings.HasPrefix(got.traceparent, "00-"+clientTrace+"-") || !strings.HasSuffix(got.traceparent, "-01") ||
				got.tracestate != "vendor=client-chosen" || got.baggage != "tenant=client-chosen" {
				t.Errorf("%s: upstream heard %+v, want the client's trace, tracestate and baggage", name, got)
			}
			continue
		}
		if len(spans) != 0 {
			t.Errorf("%s: %d spans exported at sampling ratio 0: the client's sampled flag decided", name, len(spans))
		}
		if !traceparentRE.MatchString(got.traceparent) || strings.Contains(got.traceparent, clientTrace) || !strings.HasSuffix(got.traceparent, "-00") {
			t.Errorf("%s: upstream heard traceparent %q, want an unsampled one of a new trace", name, got.traceparent)
		}
		if got.tracestate != "" || got.baggage != "" {
			t.Errorf("%s: upstream heard tracestate %q and baggage %q from the client", name, got.tracestate, got.baggage)
		}
	}
}

// TestIncomingRestartLinks: restarting, the server span is a root of a new
// trace with one link, to the client's span (without its tracestate); the
// attempt is its child, and the upstream hears the attempt's traceparent.
func TestIncomingRestartLinks(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp, IncomingContext: IncomingRestart})
	if err != nil {
		t.Fatal(err)
	}
	got, spans := throughIncoming(t, tr, exp, netip.MustParsePrefix("192.0.2.0/24"))
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	var server, attempt tracetest.SpanStub
	for _, s := range spans {
		switch s.SpanKind {
		case trace.SpanKindServer:
			server = s
		case trace.SpanKindClient:
			attempt = s
		}
	}
	if server.Parent.IsValid() || server.SpanContext.TraceID().String() == clientTrace {
		t.Errorf("server span: parent %v, trace %s; want a root of a new trace", server.Parent, server.SpanContext.TraceID())
	}
	if len(server.Links) != 1 {
		t.Fatalf("server span has %d links, want 1", len(server.Links))
	}
	l := server.Links[0].SpanContext
	if l.TraceID().String() != clientTrace || l.SpanID().String() != clientSpan || !l.IsRemote() || l.TraceState().Len() != 0 {
		t.Errorf("link %s/%s remote=%v tracestate %q; want the client's span without its tracestate", l.TraceID(), l.SpanID(), l.IsRemote(), l.TraceState())
	}
	if attempt.Parent.SpanID() != server.SpanContext.SpanID() || attempt.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Error("the attempt span is not the server span's child")
	}
	if want := "00-" + attempt.SpanContext.TraceID().String() + "-" + attempt.SpanContext.SpanID().String() + "-01"; got.traceparent != want {
		t.Errorf("upstream heard traceparent %q, want the attempt's %q", got.traceparent, want)
	}
	if got.tracestate != "" || got.baggage != "" {
		t.Errorf("upstream heard tracestate %q and baggage %q from the client", got.tracestate, got.baggage)
	}
}

// TestIncomingRestartNoTraceparent: a request without a valid traceparent
// (here one with a zero span id) starts a trace without a link.
func TestIncomingRestartNoTraceparent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp, IncomingContext: IncomingRestart})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Traceparent", "00-"+clientTrace+"-0000000000000000-01") // an invalid span id
	h.ServeHTTP(httptest.NewRecorder(), req)
	_ = tr.ForceFlush(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Parent.IsValid() || len(spans[0].Links) != 0 {
		t.Fatalf("spans %+v, want one root span without links", spans)
	}
}
