package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// logLines returns the JSON log lines with msg written to l.
func logLines(l *logcapture.Buffer, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range l.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestProxyHandlerChain: gw.Proxy on a router of one's own gets the
// gateway-wide chain of a route — request id, metrics, access log,
// WithMiddleware — labelled by the upstream's name, and the configured
// trusted proxies.
func TestProxyHandlerChain(t *testing.T) {
	b := newBackend(t, "b")
	var logs logcapture.Buffer
	global := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("X-Global", "1")
			next.ServeHTTP(w, r)
		})
	}
	gw, _, reg := newGateway(t, gateway.Config{
		Upstreams:      []gateway.UpstreamSpec{{Name: "users", Instances: []discovery.Instance{b.instance()}}},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}, gateway.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), gateway.WithMiddleware(global))
	r := chi.NewRouter()
	r.Handle("/legacy/*", gw.Proxy("users"))
	r.Handle("/gone/*", gw.Proxy("gone"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	got := do(t, "GET", srv.URL+"/legacy/7", nil, "X-Forwarded-For", "198.51.100.7")
	if got.code != 200 || got.body != "b /legacy/7" {
		t.Fatalf("through gw.Proxy: %d %q", got.code, got.body)
	}
	seen := b.last()
	if seen.Header.Get("X-Request-Id") == "" || seen.Header.Get("X-Global") != "1" {
		t.Errorf("upstream saw X-Request-Id %q, X-Global %q: the gateway-wide chain did not run", seen.Header.Get("X-Request-Id"), seen.Header.Get("X-Global"))
	}
	if xff := seen.Header.Get("X-Forwarded-For"); xff != "198.51.100.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For from a trusted peer = %q", xff)
	}
	if v := metricValue(t, reg, "gatescale_http_requests_total", "route", "users", "method", "GET", "code", "200"); v != 1 {
		t.Errorf("requests_total{route=users} = %v, want 1", v)
	}
	if got := do(t, "GET", srv.URL+"/gone/1", nil); got.code != 503 {
		t.Fatalf("unconfigured upstream: %d", got.code)
	}
	if v := metricValue(t, reg, "gatescale_http_requests_total", "route", "gone", "code", "503"); v != 1 {
		t.Errorf("requests_total{route=gone,code=503} = %v, want 1", v)
	}
	eventually(t, 2*time.Second, "two access log lines", func() bool { return len(logLines(&logs, "request")) == 2 })
	line := logLines(&logs, "request")[0]
	if line["route"] != "users" || line["upstream"] != "users" || line["instance"] != b.addr() || line["attempts"] != 1.0 ||
		line["status"] != 200.0 || line["request_id"] != seen.Header.Get("X-Request-Id") {
		t.Errorf("access log line = %v", line)
	}
	if gone := logLines(&logs, "request")[1]; gone["route"] != "gone" || gone["error"] != "upstream not configured" {
		t.Errorf("access log line of the unconfigured upstream = %v", gone)
	}
}

func TestUpstreams(t *testing.T) {
	b := newBackend(t, "b")
	cfg := gateway.Config{Upstreams: []gateway.UpstreamSpec{
		{Name: "users", Instances: []discovery.Instance{b.instance()}},
		{Name: "orders", Instances: []discovery.Instance{b.instance()}},
	}}
	gw, _, _ := newGateway(t, cfg)
	names := func() []string {
		var out []string
		for _, u := range gw.Upstreams() {
			out = append(out, u.Name())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"orders", "users"}) {
		t.Fatalf("Upstreams() = %v", got)
	}
	if gw.Upstreams()[1] != gw.Upstream("users") {
		t.Fatal("Upstreams() and Upstream(name) disagree")
	}
	cfg.Upstreams = cfg.Upstreams[:1]
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"users"}) {
		t.Fatalf("after a reload without orders: %v", got)
	}
}
