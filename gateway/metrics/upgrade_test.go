package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// histogramCount returns how many observations the histogram series
// name{labels} has, 0 when there is no such series.
func histogramCount(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) uint64 {
	t.Helper()
	if m := find(t, g, name, labels); m != nil {
		return m.GetHistogram().GetSampleCount()
	}
	return 0
}

// An upgraded connection is a session, not a request: it is counted with
// code 101, timed in the upgraded connection histogram, and kept out of the
// request duration and response size histograms.
func TestUpgradedConnectionNotARequestDuration(t *testing.T) {
	m, reg := newMetrics(t)
	upgradeDone := make(chan struct{}, 1)
	var h http.Handler
	srv := httptest.NewServer(routed("ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Header.Get("Upgrade") != "" {
			upgradeDone <- struct{}{} // the middleware has recorded
		}
	})))
	defer srv.Close()
	h = m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			_, _ = io.WriteString(w, "plain")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for { // echo lines until the client hangs up
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = brw.WriteString("echo " + line)
			_ = brw.Flush()
		}
	}))

	resp, err := http.Get(srv.URL) // one plain request on the same route
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", resp, err)
	}
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
	conn.Close()
	select { // Server.Close would not wait for a hijacked connection
	case <-upgradeDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the upgraded connection's handler did not return after the client hung up")
	}

	route := map[string]string{"route": "ws"}
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "ws", "code": "101"}); got != 1 {
		t.Errorf("requests{code=101} = %v, want 1", got)
	}
	if got := histogramCount(t, reg, UpgradedConnectionDuration, route); got != 1 {
		t.Errorf("%s has %d observations, want 1", UpgradedConnectionDuration, got)
	}
	if got := histogramCount(t, reg, RequestDuration, route); got != 1 {
		t.Errorf("%s has %d observations, want 1 (the plain request only)", RequestDuration, got)
	}
	if got := histogramCount(t, reg, ResponseSize, route); got != 1 {
		t.Errorf("%s has %d observations, want 1 (the plain request only)", ResponseSize, got)
	}
}

// An upstream attempt that upgraded is counted, but its length (the whole
// session) is not an attempt's duration.
func TestObserveUpstreamUpgradeNotTimed(t *testing.T) {
	m, reg := newMetrics(t)
	m.ObserveUpstream("ws", http.StatusSwitchingProtocols, time.Hour)
	m.ObserveUpstream("ws", 200, time.Millisecond)
	if got := counterValue(t, reg, UpstreamRequestsTotal, map[string]string{"upstream": "ws", "code": "101"}); got != 1 {
		t.Errorf("upstream requests{code=101} = %v, want 1", got)
	}
	h := find(t, reg, UpstreamRequestDuration, map[string]string{"upstream": "ws"}).GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() > 1 {
		t.Errorf("upstream duration has %d observations summing to %vs, want the 200's only", h.GetSampleCount(), h.GetSampleSum())
	}
}
