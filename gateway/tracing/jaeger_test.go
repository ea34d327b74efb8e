package tracing_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/tracing"
	"github.com/gatescale/gatescale/internal/jaegertest"
)

// TestJaeger sends requests through a gateway configured from YAML (the
// tracing section, config, live, gateway) to a backend that continues the
// trace with otelhttp, both exporting over OTLP to a real Jaeger, and reads
// the traces back from Jaeger's query API: one trace per request with the
// gateway's server span, a client span per attempt and the backend's span,
// linked parent to child. Both OTLP protocols are exercised.
func TestJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	for _, proto := range []string{tracing.ProtocolGRPC, tracing.ProtocolHTTP} {
		t.Run(strings.ReplaceAll(proto, "/", "-"), func(t *testing.T) { testJaeger(t, j, proto) })
	}
}

const apiKey = "gs_test_secret_key_0123456789"

type stack struct {
	front   *httptest.Server
	tracer  *tracing.Tracer
	backend *backend
}

// backend is a real HTTP server instrumented with otelhttp, exporting to
// Jaeger under its own service name. /flaky answers 503 to the first
// request of each X-Test-Id and 200 to the next.
type backend struct {
	srv      *httptest.Server
	tp       *sdktrace.TracerProvider
	mu       sync.Mutex
	seen     map[string]int
	baggages []string
	heard    map[string]http.Header // the trace headers of each X-Test-Id's last request
}

func newBackend(t *testing.T, j *jaegertest.Jaeger, proto, service string) *backend {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	if proto == tracing.ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(j.OTLPGRPC))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(j.OTLPHTTP+"/v1/traces"))
	}
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", service))
	b := &backend{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), seen: map[string]int{}, heard: map[string]http.Header{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.baggages = append(b.baggages, baggage.FromContext(r.Context()).String())
		b.heard[r.Header.Get("X-Test-Id")] = http.Header{"Traceparent": r.Header.Values("Traceparent"),
			"Tracestate": r.Header.Values("Tracestate"), "Baggage": r.Header.Values("Baggage")}
		b.seen[r.Header.Get("X-Test-Id")]++
		n := b.seen[r.Header.Get("X-Test-Id")]
		b.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/flaky") && n == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	b.srv = httptest.NewServer(otelhttp.NewHandler(mux, "backend", otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(prop)))
	t.Cleanup(func() {
		b.srv.Close()
		_ = b.tp.Shutdown(context.Background())
	})
	return b
}

// newStack builds the gateway the way gatescale run does: the YAML file
// parsed by config, its tracing section given to tracing.New, the rest
// built by live and applied.
func newStack(t *testing.T, j *jaegertest.Jaeger, proto, service, ratio string) *stack {
	return newStackWith(t, j, proto, service, ratio, "", "")
}

// newStackWith is newStack with tracing.incoming_context set to incoming
// and trusted_proxies to trusted, when not empty.
func newStackWith(t *testing.T, j *jaegertest.Jaeger, proto, service, ratio, incoming, trusted string) *stack {
	t.Helper()
	ctx := context.Background()
	be := newBackend(t, j, proto, service+"-backend")
	endpoint := j.OTLPHTTP
	if proto == tracing.ProtocolGRPC {
		endpoint = j.OTLPGRPC
	}
	addr := be.srv.Listener.Addr().String()
	yaml := fmt.Sprintf(`tracing:
  endpoint: %s
  protocol: %s
  service_name: %s
  sampling_ratio: %s
  incoming_context: %q
trusted_proxies: [%s]
upstreams:
  api: {instances: [%q]}
  unsteady: {instances: [%q], retry: {attempts: 2}}
consumers:
  - id: alice
    api_keys: [{id: k1, sha256: %s}]
routes:
  - {name: users, path_prefix: /users, upstream: api, auth: {methods: [api_key]}}
  - {name: flaky, path_prefix: /flaky, upstream: unsteady}
  - name: combo
    path: /combo/{id}
    composite:
      calls:
        - {name: user, upstream: api, path: "/users/{id}"}
        - {name: orders, upstream: api, path: "/orders/{id}"}
`, endpoint, proto, service, ratio, incoming, trusted, addr, addr, consumer.HashKey(apiKey))
	loaded, err := config.Parse("gatescale.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	tracer, err := tracing.New(ctx, loaded.Tracing)
	if err != nil || tracer == nil {
		t.Fatalf("tracing.New: %v, %v", tracer, err)
	}
	t.Cleanup(func() { _ = tracer.Shutdown(context.Background()) })
	logger := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(gateway.WithTracing(tracer), gateway.WithLogger(logger), gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	rt := live.NewRuntime(live.WithLogger(logger))
	t.Cleanup(rt.Close)
	if err := loaded.Apply(ctx, gw, rt); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	t.Cleanup(front.Close)
	return &stack{front: front, tracer: tracer, backend: be}
}

// heardBy returns the trace headers of the last request of X-Test-Id id.
func (b *backend) heardBy(id string) http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heard[id]
}

// clientParent returns a fresh trace id and a sampled traceparent of it,
// as a tracing client would send.
func clientParent() (traceID, traceparent string) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	traceID = hex.EncodeToString(id[:])
	return traceID, "00-" + traceID + "-00f067aa0ba902b7-01"
}

func (s *stack) get(t *testing.T, path string, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.front.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Test-Id", path)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// flush exports what the gateway and the backend buffered.
func (s *stack) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.tracer.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.backend.tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

// traceOf waits until Jaeger has a trace of service whose server span has
// url.path = path with at least spans spans, and returns it; it fails
// unless exactly one such trace exists.
func traceOf(t *testing.T, j *jaegertest.Jaeger, service, path string, spans int) jaegertest.Trace {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		trs, err := j.Traces(ctx, service, "url.path", path)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(trs) > 1 {
			t.Fatalf("%s: %d traces, want one", path, len(trs))
		}
		if len(trs) == 1 && len(trs[0].Spans) >= spans {
			if len(trs[0].Spans) > spans {
				t.Fatalf("%s: %d spans, want %d: %s", path, len(trs[0].Spans), spans, describe(trs[0]))
			}
			return trs[0]
		}
		if time.Now().After(deadline) {
			got := "no trace"
			if len(trs) == 1 {
				got = describe(trs[0])
			}
			t.Fatalf("%s: no trace with %d spans in Jaeger after 30s; got %s", path, spans, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(tr jaegertest.Trace) string {
	var b strings.Builder
	for _, s := range tr.Spans {
		fmt.Fprintf(&b, "\n  %s %s [%s] parent=%s", s.SpanID, s.OperationName, tr.Service(s), s.Parent())
	}
	return b.String()
}

// spanTree indexes a trace's spans.
type spanTree struct {
	t  *testing.T
	tr jaegertest.Trace
}

// only returns the one span of service named op, failing otherwise.
func (st spanTree) only(service, op string) jaegertest.Span {
	all := st.all(service, op)
	if len(all) != 1 {
		st.t.Fatalf("%d spans %q of %s, want 1:%s", len(all), op, service, describe(st.tr))
	}
	return all[0]
}

func (st spanTree) all(service, op string) []jaegertest.Span {
	var out []jaegertest.Span
	for _, s := range st.tr.Spans {
		if st.tr.Service(s) == service && s.OperationName == op {
			out = append(out, s)
		}
	}
	return out
}

// children returns the spans whose parent is s.
func (st spanTree) children(s jaegertest.Span) []jaegertest.Span {
	var out []jaegertest.Span
	for _, c := range st.tr.Spans {
		if c.Parent() == s.SpanID {
			out = append(out, c)
		}
	}
	return out
}

func wantTags(t *testing.T, s jaegertest.Span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.Tag(k); !ok || got != v {
			t.Errorf("span %s: tag %s = %q (present %v), want %q", s.OperationName, k, got, ok, v)
		}
	}
}

func testJaeger(t *testing.T, j *jaegertest.Jaeger, proto string) {
	service := "gw-" + strings.ReplaceAll(proto, "/", "-")
	s := newStack(t, j, proto, service, "1")
	beService := service + "-backend"
	instance := s.backend.srv.Listener.Addr().String()

	t.Run("proxied", func(t *testing.T) {
		if code := s.get(t, "/users/42", map[string]string{"X-API-Key": apiKey, "Baggage": "tenant=acme"}); code != 200 {
			t.Fatalf("status %d", code)
		}
		s.flush(t)
		tr := traceOf(t, j, service, "/users/42", 3)
		st := spanTree{t, tr}
		server := st.only(service, "GET users")
		if server.Parent() != "" {
			t.Errorf("the server span has a parent: %s", server.Parent())
		}
		attempt := st.only(service, "GET api")
		be := st.only(beService, "GET /") // otelhttp names its spans by method (and route, when known)
		if attempt.Parent() != server.SpanID || be.Parent() != attempt.SpanID {
			t.Errorf("links: want server <- attempt <- backend:%s", describe(tr))
		}
		wantTags(t, server, map[string]string{"span.kind": "server", "gatescale.route": "users", "gatescale.upstream": "api",
			"gatescale.instance": instance, "http.response.status_code": "200", "gatescale.consumer.id": "alice", "gatescale.attempts": "1"})
		wantTags(t, attempt, map[string]string{"span.kind": "client", "gatescale.route": "users", "gatescale.upstream": "api",
			"gatescale.instance": instance, "gatescale.attempt": "1", "http.response.status_code": "200", "gatescale.consumer.id": "alice"})
		for _, sp := range tr.Spans {
			for _, kv := range sp.Tags {
				if strings.Contains(fmt.Sprint(kv.Value), apiKey) {
					t.Errorf("span %s tag %s carries the API key", sp.OperationName, kv.Key)
				}
			}
		}
		s.backend.mu.Lock()
		got := s.backend.baggages[len(s.backend.baggages)-1]
		s.backend.mu.Unlock()
		if got != "tenant=acme" {
			t.Errorf("backend got baggage %q, want tenant=acme", got)
		}
	})

	t.Run("retry", func(t *testing.T) {
		if code := s.get(t, "/flaky/1", nil); code != 200 {
			t.Fatalf("status %d", code)
		}
		s.flush(t)
		tr := traceOf(t, j, service, "/flaky/1", 5)
		st := spanTree{t, tr}
		server := st.only(service, "GET flaky")
		attempts := st.children(server)
		if len(attempts) != 2 {
			t.Fatalf("%d attempt spans under the server span, want 2:%s", len(attempts), describe(tr))
		}
		byNumber := map[string]jaegertest.Span{}
		for _, a := range attempts {
			n, _ := a.Tag("gatescale.attempt")
			if a.OperationName != "GET unsteady" {
				t.Errorf("attempt span named %q, want GET unsteady", a.OperationName)
			}
			byNumber[n] = a
			if kids := st.children(a); len(kids) != 1 || tr.Service(kids[0]) != beService {
				t.Errorf("attempt %s: want one backend child:%s", n, describe(tr))
			}
		}
		wantTags(t, byNumber["1"], map[string]string{"http.response.status_code": "503", "otel.status_code": "ERROR"})
		wantTags(t, byNumber["2"], map[string]string{"http.response.status_code": "200"})
		wantTags(t, server, map[string]string{"gatescale.attempts": "2", "http.response.status_code": "200"})
	})

	t.Run("composite", func(t *testing.T) {
		if code := s.get(t, "/combo/7", nil); code != 200 {
			t.Fatalf("status %d", code)
		}
		s.flush(t)
		tr := traceOf(t, j, service, "/combo/7", 5)
		st := spanTree{t, tr}
		server := st.only(service, "GET combo")
		calls := st.children(server)
		if len(calls) != 2 {
			t.Fatalf("%d spans under the server span, want one per call (2):%s", len(calls), describe(tr))
		}
		paths := map[string]bool{}
		for _, c := range calls {
			p, _ := c.Tag("url.path")
			paths[p] = true
			wantTags(t, c, map[string]string{"span.kind": "client", "gatescale.upstream": "api", "gatescale.route": "combo"})
			if kids := st.children(c); len(kids) != 1 || tr.Service(kids[0]) != beService {
				t.Errorf("call %s: want one backend child:%s", p, describe(tr))
			}
		}
		if !paths["/users/7"] || !paths["/orders/7"] {
			t.Errorf("call paths %v, want /users/7 and /orders/7", paths)
		}
	})

	// A client's sampled traceparent, tracestate and baggage, sent to a
	// gateway that restarts traces: Jaeger has a new trace whose server
	// span is a root linked to the client's span, the backend continues
	// the gateway's trace, and neither the client's tracestate nor its
	// baggage reaches it.
	t.Run("restart", func(t *testing.T) {
		rs := "restart-" + service
		r := newStackWith(t, j, proto, rs, "1", tracing.IncomingRestart, "")
		traceID, parent := clientParent()
		path := "/users/restart"
		if code := r.get(t, path, map[string]string{"X-API-Key": apiKey, "Traceparent": parent,
			"Tracestate": "vendor=client-chosen", "Baggage": "tenant=client-chosen"}); code != 200 {
			t.Fatalf("status %d", code)
		}
		r.flush(t)
		tr := traceOf(t, j, rs, path, 3)
		if tr.TraceID == traceID {
			t.Fatalf("the trace has the client's id %s", traceID)
		}
		st := spanTree{t, tr}
		server := st.only(rs, "GET users")
		attempt := st.only(rs, "GET api")
		be := st.only(rs+"-backend", "GET /")
		if server.Parent() != "" || attempt.Parent() != server.SpanID || be.Parent() != attempt.SpanID {
			t.Errorf("want root server <- attempt <- backend:%s", describe(tr))
		}
		var links []string
		for _, ref := range server.References {
			links = append(links, ref.RefType+" "+ref.TraceID+"/"+ref.SpanID)
		}
		if want := "FOLLOWS_FROM " + traceID + "/00f067aa0ba902b7"; len(links) != 1 || links[0] != want {
			t.Errorf("server span references %q, want [%s] (the link to the client's span)", links, want)
		}
		heard := r.backend.heardBy(path)
		if tp := heard.Get("Traceparent"); tp != "00-"+tr.TraceID+"-"+attempt.SpanID+"-01" {
			t.Errorf("backend heard traceparent %q, want the attempt's in trace %s", tp, tr.TraceID)
		}
		if heard.Get("Tracestate") != "" || heard.Get("Baggage") != "" {
			t.Errorf("backend heard the client's tracestate %q and baggage %q", heard.Get("Tracestate"), heard.Get("Baggage"))
		}
	})

	// trusted_proxies, at sampling_ratio 0: the same request continues the
	// client's trace when the gateway's trusted_proxies has the client's
	// address (127.0.0.1), as the route table decides the client, and
	// restarts it when the list has another network: then the backend
	// hears an unsampled traceparent of another trace and no baggage.
	t.Run("trusted_proxies", func(t *testing.T) {
		for i, trusted := range []string{`"127.0.0.1"`, `"10.0.0.0/8"`} {
			ts := fmt.Sprintf("trusted%d-%s", i, service)
			p := newStackWith(t, j, proto, ts, "0", tracing.IncomingTrustedProxies, trusted)
			traceID, parent := clientParent()
			path := "/users/trusted"
			if code := p.get(t, path, map[string]string{"X-API-Key": apiKey, "Traceparent": parent, "Baggage": "tenant=acme"}); code != 200 {
				t.Fatalf("status %d", code)
			}
			heard := p.backend.heardBy(path)
			if i == 1 {
				if tp := heard.Get("Traceparent"); !strings.HasPrefix(tp, "00-") || strings.Contains(tp, traceID) || !strings.HasSuffix(tp, "-00") {
					t.Errorf("trusted_proxies %s: backend heard traceparent %q, want an unsampled one of a new trace", trusted, tp)
				}
				if got := heard.Get("Baggage"); got != "" {
					t.Errorf("trusted_proxies %s: backend heard the client's baggage %q", trusted, got)
				}
				continue
			}
			p.flush(t)
			tr := traceOf(t, j, ts, path, 3)
			if tr.TraceID != traceID {
				t.Errorf("trace id %s, want the client's %s", tr.TraceID, traceID)
			}
			if server := (spanTree{t, tr}).only(ts, "GET users"); server.Parent() != "00f067aa0ba902b7" {
				t.Errorf("server span's parent %q, want the client's span", server.Parent())
			}
			if got := heard.Get("Baggage"); got != "tenant=acme" {
				t.Errorf("backend heard baggage %q, want the client's", got)
			}
		}
	})

	t.Run("ratio0", func(t *testing.T) {
		zs := "zero-" + service
		z := newStack(t, j, proto, zs, "0")
		if code := z.get(t, "/users/unsampled", map[string]string{"X-API-Key": apiKey}); code != 200 {
			t.Fatalf("status %d", code)
		}
		// A control through the same exporters: a caller's sampled
		// traceparent is followed (parent-based), so this trace must
		// arrive; once it has, the unsampled one would have too.
		traceID, parent := clientParent()
		if code := z.get(t, "/users/control", map[string]string{"X-API-Key": apiKey, "Traceparent": parent}); code != 200 {
			t.Fatalf("status %d", code)
		}
		z.flush(t)
		tr := traceOf(t, j, zs, "/users/control", 3)
		if tr.TraceID != traceID {
			t.Errorf("control trace id %s, want the caller's", tr.TraceID)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, svc := range []string{zs, zs + "-backend"} {
			trs, err := j.Traces(ctx, svc, "", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range trs {
				if tr.TraceID != traceID {
					t.Errorf("sampling_ratio 0: Jaeger has trace %s of %s:%s", tr.TraceID, svc, describe(tr))
				}
			}
		}
	})
}
