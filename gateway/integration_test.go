package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

func TestRoutingAndRewrite(t *testing.T) {
	users, orders, admin := newBackend(t, "users"), newBackend(t, "orders"), newBackend(t, "admin")
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "users", Instances: []discovery.Instance{users.instance()}},
			{Name: "orders", Instances: []discovery.Instance{orders.instance()}},
			{Name: "admin", Instances: []discovery.Instance{admin.instance()}},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "users", PathPrefix: "/api/users", StripPrefix: "/api", Upstream: "users"}},
			{Route: spec.Route{Name: "order", Path: "/orders/{id}", Methods: []string{"GET"}, Rewrite: "/v2/orders/{id}/detail", Upstream: "orders"}},
			{Route: spec.Route{Name: "order-files", Path: "/files/*", Rewrite: "/store/{*}", Upstream: "orders"}},
			{Route: spec.Route{Name: "admin", Hosts: []string{"admin.example.com"}, PathPrefix: "/", Upstream: "admin"}},
			{Route: spec.Route{Name: "wild", Hosts: []string{"*.tenant.example"}, PathPrefix: "/api/users", Upstream: "admin"}},
		},
	}
	_, srv, _ := newGateway(t, cfg)

	cases := []struct {
		method, path, host string
		code               int
		body               string
	}{
		{"GET", "/api/users/42?x=1", "", 200, "users /users/42?x=1"},
		{"GET", "/api/users", "", 200, "users /users"},
		{"GET", "/api/usersx", "", 404, ""},
		{"GET", "/orders/7", "", 200, "orders /v2/orders/7/detail"},
		{"POST", "/orders/7", "", 405, ""},
		{"GET", "/files/a/b.txt", "", 200, "orders /store/a/b.txt"},
		{"GET", "/anything", "admin.example.com", 200, "admin /anything"},
		{"GET", "/anything", "ADMIN.example.com:8080", 200, "admin /anything"},
		{"GET", "/api/users/1", "acme.tenant.example", 200, "admin /api/users/1"},
		{"GET", "/api/users/1", "admin.example.com", 200, "users /users/1"},
		{"GET", "/api/users/./../users/5", "", 200, "users /users/5"},
		{"GET", "//api//users/9", "", 200, "users /users/9"},
		{"GET", "/nothing", "", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.host+c.path, func(t *testing.T) {
			got := do(t, c.method, srv.URL+c.path, nil, "Host", c.host)
			if c.host == "" {
				got = do(t, c.method, srv.URL+c.path, nil)
			}
			if got.code != c.code {
				t.Fatalf("status %d, want %d (body %q)", got.code, c.code, got.body)
			}
			if c.body != "" && got.body != c.body {
				t.Fatalf("body %q, want %q", got.body, c.body)
			}
			if c.code >= 400 && got.header.Get("Content-Type") != problem.ContentType {
				t.Fatalf("error without a problem body: %q", got.header.Get("Content-Type"))
			}
		})
	}
	if got := do(t, "POST", srv.URL+"/orders/7", nil); got.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("405 Allow = %q, want GET, HEAD", got.header.Get("Allow"))
	}
}

func TestForwardedHeaders(t *testing.T) {
	b := newBackend(t, "b")
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "b", PathPrefix: "/", Upstream: "b"}}},
	}
	_, srv, _ := newGateway(t, cfg)
	// An untrusted client cannot spoof its address.
	do(t, "GET", srv.URL+"/x", nil, "X-Forwarded-For", "6.6.6.6", "Forwarded", "for=6.6.6.6", "Connection", "X-Secret", "X-Secret", "1", "Host", "public.example")
	r := b.last()
	if got := r.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want only the real client 127.0.0.1", got)
	}
	if got := r.Header.Values("Forwarded"); len(got) != 1 || got[0] != "for=127.0.0.1;host=public.example;proto=http" {
		t.Errorf("Forwarded = %q", got)
	}
	if got := r.Header.Get("X-Forwarded-Host"); got != "public.example" {
		t.Errorf("X-Forwarded-Host = %q", got)
	}
	if r.Header.Get("X-Secret") != "" {
		t.Errorf("hop-by-hop header named in Connection was forwarded")
	}
	if r.Host != b.addr() {
		t.Errorf("Host = %q, want the instance address %q", r.Host, b.addr())
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id sent upstream")
	}

	// From a trusted proxy, the chain is kept and extended.
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Upstreams[0].PreserveHost = true
	_, srv2, _ := newGateway(t, cfg)
	do(t, "GET", srv2.URL+"/x", nil, "X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https", "Host", "public.example")
	r = b.last()
	if got := r.Header.Get("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
		t.Errorf("trusted X-Forwarded-For = %q", got)
	}
	if got := r.Header.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("trusted X-Forwarded-Proto = %q", got)
	}
	if r.Host != "public.example" {
		t.Errorf("PreserveHost: Host = %q", r.Host)
	}
}

func TestBalancingDistribution(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "rr", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{a.instance(), b.instance(), c.instance()}},
			{Name: "w", Balancer: balance.Weighted{}, Instances: []discovery.Instance{{Addr: a.addr(), Weight: 3}, {Addr: b.addr(), Weight: 1}}},
			{Name: "p2c", Balancer: balance.P2C{}, Instances: []discovery.Instance{a.instance(), b.instance(), c.instance()}},
			{Name: "hash", Balancer: balance.Hash{Key: balance.HeaderKey("X-User")}, Instances: []discovery.Instance{a.instance(), b.instance(), c.instance()}},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "rr", PathPrefix: "/rr", Upstream: "rr"}},
			{Route: spec.Route{Name: "w", PathPrefix: "/w", Upstream: "w"}},
			{Route: spec.Route{Name: "p2c", PathPrefix: "/p2c", Upstream: "p2c"}},
			{Route: spec.Route{Name: "hash", PathPrefix: "/hash", Upstream: "hash"}},
		},
	}
	_, srv, _ := newGateway(t, cfg)
	count := func(path string, n int, hdr ...string) map[string]int {
		got := map[string]int{}
		for range n {
			resp := do(t, "GET", srv.URL+path, nil, hdr...)
			got[resp.header.Get("X-Backend")]++
		}
		return got
	}
	if got := count("/rr", 300); got["a"] != 100 || got["b"] != 100 || got["c"] != 100 {
		t.Errorf("round robin over 300 requests = %v, want 100 each", got)
	}
	if got := count("/w", 400); got["a"] != 300 || got["b"] != 100 {
		t.Errorf("weighted 3:1 over 400 requests = %v, want 300/100", got)
	}
	// Sequential requests: every instance is idle, so P2C spreads randomly.
	if got := count("/p2c", 600); got["a"] < 120 || got["b"] < 120 || got["c"] < 120 {
		t.Errorf("p2c over 600 requests = %v, want each within tolerance of 200", got)
	}
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		if got := count("/hash", 20, "X-User", user); len(got) != 1 {
			t.Errorf("hash: user %s went to %v, want one instance", user, got)
		}
	}
}

func TestPassiveEjectionAndReadmission(t *testing.T) {
	good, bad := newBackend(t, "good"), newBackend(t, "bad")
	var failing atomic.Bool
	failing.Store(true)
	bad.handle(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Backend", "bad")
	})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{
			Name: "u", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{good.instance(), bad.instance()},
			PassiveHealth: &health.Passive{ConsecutiveFailures: 3, BaseEjection: 300 * time.Millisecond},
		}},
		Routes: []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
	}
	gw, srv, reg := newGateway(t, cfg)
	for range 6 { // round robin: 3 reach the bad instance, which is then ejected
		do(t, "GET", srv.URL+"/", nil)
	}
	if got := bad.hits.Load(); got != 3 {
		t.Fatalf("bad instance got %d requests before ejection, want 3", got)
	}
	if n := gw.Upstream("u").Admitted(); n != 1 {
		t.Fatalf("admitted = %d after ejection, want 1", n)
	}
	if v := metricValue(t, reg, "gatescale_upstream_instances", "upstream", "u", "state", "ejected"); v != 1 {
		t.Fatalf("gatescale_upstream_instances{state=ejected} = %v, want 1", v)
	}
	for range 10 {
		if got := do(t, "GET", srv.URL+"/", nil); got.code != 200 {
			t.Fatalf("request during ejection failed: %d", got.code)
		}
	}
	if got := bad.hits.Load(); got != 3 {
		t.Fatalf("ejected instance still got requests: %d", got)
	}
	failing.Store(false)
	eventually(t, 3*time.Second, "re-admission", func() bool { return gw.Upstream("u").Admitted() == 2 })
	for range 4 {
		do(t, "GET", srv.URL+"/", nil)
	}
	if got := bad.hits.Load(); got != 5 {
		t.Fatalf("re-admitted instance got %d requests in total, want 5", got)
	}
}

func TestRetries(t *testing.T) {
	good := newBackend(t, "good")
	flaky := newBackend(t, "flaky")
	flaky.handle(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	dead := closedAddr(t)
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "dead", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{{Addr: dead}, good.instance()}, Retry: gateway.RetrySpec{Attempts: 2}},
			{Name: "flaky", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{flaky.instance(), good.instance()}, Retry: gateway.RetrySpec{Attempts: 2}},
			{Name: "noretry", Balancer: balance.RoundRobin{}, Instances: []discovery.Instance{{Addr: dead}, good.instance()}},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "dead", PathPrefix: "/dead", Upstream: "dead"}},
			{Route: spec.Route{Name: "flaky", PathPrefix: "/flaky", Upstream: "flaky"}},
			{Route: spec.Route{Name: "noretry", PathPrefix: "/noretry", Upstream: "noretry"}},
		},
	}
	_, srv, reg := newGateway(t, cfg)

	// Connection refused: nothing was sent, so any method is retried, body included.
	for i := range 4 {
		got := do(t, "POST", srv.URL+"/dead", strings.NewReader("payload"))
		if got.code != 200 {
			t.Fatalf("POST %d to a half-dead upstream = %d %s, want 200 via retry", i, got.code, got.body)
		}
	}
	if r := good.last(); r == nil || r.Method != "POST" {
		t.Fatal("retried POST did not reach the good instance")
	}
	if v := metricValue(t, reg, "gatescale_upstream_retries_total", "upstream", "dead", "reason", "connect"); v < 2 {
		t.Fatalf("connect retries counted = %v, want >= 2", v)
	}
	// A 503 is retried for GET (idempotent) ...
	for range 4 {
		if got := do(t, "GET", srv.URL+"/flaky", nil); got.code != 200 {
			t.Fatalf("GET to flaky = %d, want 200 via retry", got.code)
		}
	}
	// ... but not for POST, whose effect may have happened.
	flakyPosts := 0
	for range 4 {
		if got := do(t, "POST", srv.URL+"/flaky", strings.NewReader("x")); got.code == 503 {
			flakyPosts++
		}
	}
	if flakyPosts != 2 {
		t.Fatalf("POSTs answered 503 = %d of 4, want 2 (the flaky instance's, not retried)", flakyPosts)
	}
	// Without retries a dead instance is a 502 with a problem body.
	var sawBadGateway bool
	for range 4 {
		got := do(t, "GET", srv.URL+"/noretry", nil)
		if got.code == http.StatusBadGateway {
			sawBadGateway = true
			var p problem.Details
			if err := json.Unmarshal([]byte(got.body), &p); err != nil || p.Route != "noretry" || p.Upstream != "noretry" || strings.Contains(got.body, dead) {
				t.Fatalf("502 body = %s (err %v); want a problem naming route and upstream, without the address", got.body, err)
			}
		}
	}
	if !sawBadGateway {
		t.Fatal("no 502 from the dead instance without retries")
	}
}

func TestTimeouts(t *testing.T) {
	slow := newBackend(t, "slow")
	release := make(chan struct{})
	var canceled atomic.Int64
	slow.handle(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			canceled.Add(1)
		}
	})
	defer close(release)
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "slow", Instances: []discovery.Instance{slow.instance()}},
			{Name: "slowtry", Instances: []discovery.Instance{slow.instance()}, TryTimeout: 100 * time.Millisecond},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "slow", PathPrefix: "/slow", Upstream: "slow", Timeout: spec.Duration(150 * time.Millisecond)}},
			{Route: spec.Route{Name: "slowtry", PathPrefix: "/try", Upstream: "slowtry"}},
			{Route: spec.Route{Name: "forever", PathPrefix: "/forever", Upstream: "slow"}},
		},
	}
	_, srv, _ := newGateway(t, cfg)
	for _, path := range []string{"/slow", "/try"} {
		start := time.Now()
		got := do(t, "GET", srv.URL+path, nil)
		if got.code != http.StatusGatewayTimeout || !strings.Contains(got.body, "did not answer in time") {
			t.Fatalf("%s = %d %s, want 504 problem", path, got.code, got.body)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("%s took %v: the deadline was not enforced", path, el)
		}
	}
	eventually(t, 2*time.Second, "upstream sees the cancellation of timed-out attempts", func() bool { return canceled.Load() >= 2 })

	// A client that gives up cancels the upstream request too.
	before := canceled.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/forever", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request to /forever returned without error")
	}
	eventually(t, 2*time.Second, "upstream sees the client's cancellation", func() bool { return canceled.Load() > before })
}

func TestBodyLimit(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "read %d", n)
	})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "b", PathPrefix: "/", Upstream: "b", MaxBodyBytes: 1000}}},
	}
	_, srv, _ := newGateway(t, cfg)
	if got := do(t, "POST", srv.URL+"/", strings.NewReader(strings.Repeat("x", 1000))); got.code != 200 || got.body != "read 1000" {
		t.Fatalf("body at the limit = %d %q", got.code, got.body)
	}
	hits := b.hits.Load()
	if got := do(t, "POST", srv.URL+"/", strings.NewReader(strings.Repeat("x", 1001))); got.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared body over the limit = %d, want 413", got.code)
	}
	if b.hits.Load() != hits {
		t.Fatal("a body declared too large still reached the upstream")
	}
	// Chunked (no Content-Length): refused while streaming.
	pr, pw := io.Pipe()
	go func() {
		for range 20 {
			if _, err := pw.Write(make([]byte, 100)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	got := do(t, "POST", srv.URL+"/", pr)
	if got.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("streamed body over the limit = %d %q, want 413", got.code, got.body)
	}
}

func TestNoInstances(t *testing.T) {
	static := discovery.NewStatic(map[string][]discovery.Instance{"svc": nil})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "svc", Resolver: static}},
		Routes:    []route.Route{{Route: spec.Route{Name: "svc", PathPrefix: "/", Upstream: "svc"}}},
	}
	_, srv, _ := newGateway(t, cfg)
	got := do(t, "GET", srv.URL+"/", nil)
	if got.code != 503 || got.header.Get("Content-Type") != problem.ContentType || !strings.Contains(got.body, "no healthy instances") {
		t.Fatalf("empty upstream = %d %q %s", got.code, got.header.Get("Content-Type"), got.body)
	}
	// The resolver pushes an instance: traffic flows without a reload.
	b := newBackend(t, "b")
	static.Set("svc", []discovery.Instance{b.instance()})
	eventually(t, 2*time.Second, "pushed instance serves", func() bool { return do(t, "GET", srv.URL+"/", nil).code == 200 })
}

func TestWebSocketUpgrade(t *testing.T) {
	b := newBackend(t, "ws")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
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
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Fatalf("over the upgraded connection got %q, %v", line, err)
	}
	conn.Close()

	// The session is counted as a 101 and timed in the upgraded connection
	// histogram; it is not a request latency (nor an upstream attempt's),
	// where a long session would move p99.
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

func TestMetricsCountRequests(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
	})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}},
		Routes: []route.Route{
			{Route: spec.Route{Name: "read", PathPrefix: "/", Methods: []string{"GET"}, Upstream: "b"}},
			{Route: spec.Route{Name: "write", PathPrefix: "/", Methods: []string{"POST"}, Upstream: "b"}},
		},
	}
	_, srv, reg := newGateway(t, cfg)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch {
			case i%5 == 0:
				do(t, "POST", srv.URL+"/x", strings.NewReader("x"))
			case i%5 == 1:
				do(t, "GET", srv.URL+"/missing", nil)
			default:
				do(t, "GET", srv.URL+"/x", nil)
			}
		}()
	}
	wg.Wait()
	want := map[[3]string]float64{{"read", "GET", "200"}: 30, {"read", "GET", "404"}: 10, {"write", "POST", "200"}: 10}
	for k, v := range want {
		if got := metricValue(t, reg, "gatescale_http_requests_total", "route", k[0], "method", k[1], "code", k[2]); got != v {
			t.Errorf("requests_total%v = %v, want %v", k, got, v)
		}
	}
	if got := metricValue(t, reg, "gatescale_upstream_requests_total", "upstream", "b", "code", "200"); got != 40 {
		t.Errorf("upstream_requests_total{code=200} = %v, want 40", got)
	}
	do(t, "GET", srv.URL+"/", nil, "Host", "x") // matched: counted under read
	do(t, "DELETE", srv.URL+"/x", nil)          // no route for DELETE: 405, counted as unmatched
	if got := metricValue(t, reg, "gatescale_http_requests_total", "route", "unmatched", "method", "DELETE", "code", "405"); got != 1 {
		t.Errorf("unmatched 405 counted %v times, want 1", got)
	}
	if got := metricValue(t, reg, "gatescale_http_requests_in_flight", "route", "read"); got != 0 {
		t.Errorf("in flight after all requests = %v", got)
	}
}

// TestReloadDropsNothing swaps the configuration many times under load.
func TestReloadDropsNothing(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	cfgFor := func(inst discovery.Instance, prefix string) gateway.Config {
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{inst}}},
			Routes: []route.Route{
				{Route: spec.Route{Name: "main", PathPrefix: "/", Upstream: "u"}},
				{Route: spec.Route{Name: "extra", PathPrefix: prefix, Upstream: "u"}},
			},
		}
	}
	gw, srv, _ := newGateway(t, cfgFor(a.instance(), "/x0"))
	ctx, cancel := context.WithCancel(context.Background())
	var failed, sent atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := http.Get(srv.URL + "/hello")
				sent.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := range 50 {
		inst := a.instance()
		if i%2 == 1 {
			inst = b.instance()
		}
		if err := gw.Apply(context.Background(), cfgFor(inst, fmt.Sprintf("/x%d", i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// A bad configuration is refused and changes nothing.
	bad := cfgFor(b.instance(), "/y")
	bad.Routes[1].Upstream = "missing"
	if err := gw.Apply(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `routes[1].upstream: "missing" is not defined`) {
		t.Fatalf("bad config: err = %v", err)
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 50 {
		t.Fatalf("%d of %d requests failed across 50 reloads", failed.Load(), sent.Load())
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Fatalf("reloads did not switch instances: a=%d b=%d", a.hits.Load(), b.hits.Load())
	}
	// Apply has returned: the last configuration (instance b, route /x49)
	// is fully in force, with no lag.
	aHits := a.hits.Load()
	for range 5 {
		if got := do(t, "GET", srv.URL+"/x49", nil); got.code != 200 || got.header.Get("X-Backend") != "b" {
			t.Fatalf("last applied config not in force: %d from %q", got.code, got.header.Get("X-Backend"))
		}
	}
	if a.hits.Load() != aHits {
		t.Fatal("the replaced instance still gets requests")
	}
}

// TestDrainOnShutdown: SIGTERM-equivalent with requests in flight; none fail,
// readiness fails at once, new requests during the drain are still served.
func TestDrainOnShutdown(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	})
	gw, _, reg := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "b", PathPrefix: "/", Upstream: "b"}}},
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	adminLn, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &gateway.Server{Gateway: gw, Listener: ln, AdminListener: adminLn, Gatherer: reg, DrainPeriod: 400 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base, admin := "http://"+ln.Addr().String(), "http://"+adminLn.Addr().String()
	eventually(t, 2*time.Second, "ready", func() bool {
		resp, err := http.Get(admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	var wg sync.WaitGroup
	var failures atomic.Int64
	send := func() {
		defer wg.Done()
		resp, err := http.Get(base + "/work")
		if err != nil {
			failures.Add(1)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "done" {
			failures.Add(1)
		}
	}
	for range 10 {
		wg.Add(1)
		go send()
	}
	eventually(t, 2*time.Second, "requests in flight", func() bool { return b.hits.Load() == 10 })
	stop() // what SIGTERM does in cmd/gatescale
	eventually(t, time.Second, "readiness fails while draining", func() bool {
		resp, err := http.Get(admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	// Arrives during the drain period: still served.
	wg.Add(1)
	go send()
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d requests failed during drain", failures.Load())
	}
	if b.hits.Load() != 11 {
		t.Fatalf("upstream saw %d requests, want 11", b.hits.Load())
	}
	if _, err := http.Get(base + "/late"); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

// TestHTTP2ToClients: the Server speaks cleartext HTTP/2 (h2c) to clients
// that ask for it, and HTTP/1.1 to the rest; upstreams are unaffected.
func TestHTTP2ToClients(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) })
	gw, _, reg := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "b", PathPrefix: "/", Upstream: "b"}}},
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&gateway.Server{Gateway: gw, Listener: ln, Gatherer: reg, DrainPeriod: time.Millisecond}).Run(ctx)
	}()
	defer func() { stop(); <-done }()

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	resp, err := h2.Get("http://" + ln.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "HTTP/1.1" {
		t.Fatalf("h2c client got %s %d %q; want HTTP/2 to the client and HTTP/1.1 upstream", resp.Proto, resp.StatusCode, body)
	}
}

// TestReloadKeepsUnchangedUpstreams: an upstream whose spec did not change
// (a hash policy compared by KeyID) survives a reload with its state.
func TestReloadKeepsUnchangedUpstreams(t *testing.T) {
	b := newBackend(t, "b")
	cfg := func(keyID, prefix string) gateway.Config {
		return gateway.Config{
			Upstreams: []gateway.UpstreamSpec{{Name: "h", Instances: []discovery.Instance{b.instance()},
				Balancer: balance.Hash{Key: balance.HeaderKey("X-User"), KeyID: keyID}}},
			Routes: []route.Route{{Route: spec.Route{Name: "h", PathPrefix: prefix, Upstream: "h"}}},
		}
	}
	gw, _, _ := newGateway(t, cfg("header:X-User", "/a"))
	before := gw.Upstream("h")
	if err := gw.Apply(context.Background(), cfg("header:X-User", "/b")); err != nil {
		t.Fatal(err)
	}
	if gw.Upstream("h") != before {
		t.Fatal("unchanged hash upstream was rebuilt on reload")
	}
	if err := gw.Apply(context.Background(), cfg("header:X-Other", "/b")); err != nil {
		t.Fatal(err)
	}
	if gw.Upstream("h") == before {
		t.Fatal("hash upstream with a new key was not rebuilt")
	}
}

// TestCanaryBySubsetAndHeader: two upstreams over one service, split by
// instance metadata; a header sends a request to the canary subset.
func TestCanaryBySubsetAndHeader(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	svc := discovery.NewStatic(map[string][]discovery.Instance{"users": {
		{Addr: v1.addr(), Meta: map[string]string{"version": "v1"}},
		{Addr: v2.addr(), Meta: map[string]string{"version": "v2"}},
	}})
	_, srv, _ := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "users", Service: "users", Resolver: svc, Subset: map[string]string{"version": "v1"}},
			{Name: "users-canary", Service: "users", Resolver: svc, Subset: map[string]string{"version": "v2"}},
		},
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "users", Variants: []spec.Variant{{Header: "x-canary", Value: "1", Upstream: "users-canary"}}}}},
	})
	for range 5 {
		if got := do(t, "GET", srv.URL+"/u", nil).header.Get("X-Backend"); got != "v1" {
			t.Fatalf("plain request went to %q, want v1", got)
		}
		if got := do(t, "GET", srv.URL+"/u", nil, "X-Canary", "1").header.Get("X-Backend"); got != "v2" {
			t.Fatalf("canary request went to %q, want v2", got)
		}
	}
}

// TestHeaderVariantNeedsValue: a header variant selects requests whose
// header equals its value, and the value is required (docs/configuration.md).
// Without one, every request that lacks the header has the header equal to
// "" and went to the canary: all ordinary traffic on the untested upstream.
// Such a route is refused, the running configuration left in force.
func TestHeaderVariantNeedsValue(t *testing.T) {
	stable, canary := newBackend(t, "stable"), newBackend(t, "canary")
	ups := []gateway.UpstreamSpec{
		{Name: "stable", Instances: []discovery.Instance{stable.instance()}},
		{Name: "canary", Instances: []discovery.Instance{canary.instance()}},
	}
	gw, srv, _ := newGateway(t, gateway.Config{Upstreams: ups,
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable"}}}})
	err := gw.Apply(context.Background(), gateway.Config{Upstreams: ups,
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable",
			Variants: []spec.Variant{{Header: "X-Canary", Upstream: "canary"}}}}}})
	if err == nil || !strings.Contains(err.Error(), "routes[0].variants[0].value") {
		t.Errorf("a header variant without a value was applied (err %v)", err)
	}
	if got := do(t, "GET", srv.URL+"/u", nil).header.Get("X-Backend"); got != "stable" {
		t.Fatalf("a request without X-Canary went to %q, want stable", got)
	}
}

// TestCanaryByWeight: a weighted variant gets its share of the requests
// (within a generous binomial bound), header variants still win, and a
// weight of 100 takes everything.
func TestCanaryByWeight(t *testing.T) {
	v1, v2, beta := newBackend(t, "v1"), newBackend(t, "v2"), newBackend(t, "beta")
	static := func(b *backend) discovery.Resolver {
		return discovery.NewStatic(map[string][]discovery.Instance{"s": {{Addr: b.addr()}}})
	}
	ups := []gateway.UpstreamSpec{
		{Name: "stable", Service: "s", Resolver: static(v1)},
		{Name: "canary", Service: "s", Resolver: static(v2)},
		{Name: "beta", Service: "s", Resolver: static(beta)},
	}
	gw, srv, _ := newGateway(t, gateway.Config{Upstreams: ups,
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable",
			Variants: []spec.Variant{{Weight: 20, Upstream: "canary"}, {Header: "x-beta", Value: "1", Upstream: "beta"}}}}}})
	const n = 1000
	counts := map[string]int{}
	for range n {
		counts[do(t, "GET", srv.URL+"/u", nil).header.Get("X-Backend")]++
		if got := do(t, "GET", srv.URL+"/u", nil, "X-Beta", "1").header.Get("X-Backend"); got != "beta" {
			t.Fatalf("header variant went to %q", got)
		}
	}
	// 20% of 1000: mean 200, sd ≈ 12.6; ±60 is beyond 4.7 sd.
	if c := counts["v2"]; c < 140 || c > 260 || counts["v1"]+c != n {
		t.Fatalf("canary share: %v", counts)
	}
	if err := gw.Apply(context.Background(), gateway.Config{Upstreams: ups,
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "stable",
			Variants: []spec.Variant{{Weight: 100, Upstream: "canary"}}}}}}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if got := do(t, "GET", srv.URL+"/u", nil).header.Get("X-Backend"); got != "v2" {
			t.Fatalf("weight 100 went to %q", got)
		}
	}
}
