package gateway_test

import (
	"log/slog"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// TestIPAccessRefusalLogged: a request ip_access refuses is a 403
// problem+json that never reaches the upstream, and its access log line
// says why, as authentication's, authorization's and rate limits' do: a
// 403 of ip_access is told from an authorization's.
func TestIPAccessRefusalLogged(t *testing.T) {
	b := newBackend(t, "b")
	var logs logcapture.Buffer
	deny := ipaccess.Middleware(ipaccess.Rule{Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	_, srv, _ := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "app", Instances: []discovery.Instance{b.instance()}}},
		Routes: []route.Route{{Route: spec.Route{Name: "office", PathPrefix: "/office", Upstream: "app"},
			Guards: []func(http.Handler) http.Handler{deny}}},
	}, gateway.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))

	got := do(t, http.MethodGet, srv.URL+"/office/x", nil)
	if got.code != http.StatusForbidden || got.header.Get("Content-Type") != "application/problem+json" || b.hits.Load() != 0 {
		t.Fatalf("refused address: %d %q, upstream hit %d times", got.code, got.header.Get("Content-Type"), b.hits.Load())
	}
	eventually(t, 2*time.Second, "an access log line", func() bool { return len(logLines(&logs, "request")) == 1 })
	if line := logLines(&logs, "request")[0]; line["status"] != 403.0 || line["error"] != "forbidden: client address (ip_access)" {
		t.Fatalf("access log line = %v, want status 403 and error %q", line, "forbidden: client address (ip_access)")
	}
}
