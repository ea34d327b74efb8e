package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// histogramCount returns the observations of histogram name with label
// key=value, 0 when it has no such series.
func histogramCount(t *testing.T, reg *prometheus.Registry, name, key, value string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == key && lp.GetValue() == value {
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}

// A WebSocket-style session through the proxy is counted as a 101 and timed
// in the upgraded connection histogram; it is not a request latency (nor an
// upstream attempt's), where a long session would move p99.
func TestUpgradedConnectionMetrics(t *testing.T) {
	b := newBackend(t, "ws")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		for { // echo until the gateway closes the tunnel
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = brw.WriteString("echo: " + line)
			_ = brw.Flush()
		}
	})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "ws", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "ws", PathPrefix: "/ws", Upstream: "ws"}}},
	}
	_, srv, reg := newGateway(t, cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade response: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Fatalf("over the upgraded connection got %q, %v", line, err)
	}
	conn.Close()

	const duration, upgraded = "gatescale_http_request_duration_seconds", "gatescale_http_upgraded_connection_duration_seconds"
	// The session's end is recorded in one histogram or the other.
	eventually(t, 5*time.Second, "the session's end to be recorded", func() bool {
		return histogramCount(t, reg, duration, "route", "ws")+histogramCount(t, reg, upgraded, "route", "ws") > 0
	})
	if n := histogramCount(t, reg, duration, "route", "ws"); n != 0 {
		t.Errorf("%s has %d observations of the upgraded connection, want 0", duration, n)
	}
	if n := histogramCount(t, reg, upgraded, "route", "ws"); n != 1 {
		t.Errorf("%s has %d observations, want 1", upgraded, n)
	}
	if n := histogramCount(t, reg, "gatescale_http_response_size_bytes", "route", "ws"); n != 0 {
		t.Errorf("response size has %d observations of the upgraded connection (it has no body), want 0", n)
	}
	if got := metricValue(t, reg, "gatescale_http_requests_total", "route", "ws", "code", "101"); got != 1 {
		t.Errorf("requests_total{code=101} = %v, want 1", got)
	}
	// The proxy ended the attempt before the route's handler returned.
	if got := metricValue(t, reg, "gatescale_upstream_requests_total", "upstream", "ws", "code", "101"); got != 1 {
		t.Errorf("upstream_requests_total{code=101} = %v, want 1", got)
	}
	if n := histogramCount(t, reg, "gatescale_upstream_request_duration_seconds", "upstream", "ws"); n != 0 {
		t.Errorf("upstream duration has %d observations of the upgraded attempt, want 0", n)
	}
}
