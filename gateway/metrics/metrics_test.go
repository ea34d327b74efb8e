package metrics

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
)

func newMetrics(t testing.TB, opts ...Option) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// routed does what the route table does: put a fresh request.Info in the
// context before the route's middleware runs.
func routed(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), &request.Info{Route: name})))
	})
}

// find returns the metric of family name whose labels include want, or nil.
func find(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

func counterValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	if m := find(t, g, name, labels); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

func gaugeValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	if m := find(t, g, name, labels); m != nil {
		return m.GetGauge().GetValue()
	}
	return 0
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func status(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code != 0 {
			w.WriteHeader(code)
		}
		_, _ = io.WriteString(w, "hello")
	})
}

func TestRequestsCounted(t *testing.T) {
	m, reg := newMetrics(t)
	cases := []struct {
		route, method string
		code          int // 0: handler writes body only
		n             int
		wantCode      string
		wantMethod    string
	}{
		{"users", http.MethodGet, 200, 3, "200", "GET"},
		{"users", http.MethodGet, 404, 2, "404", "GET"},
		{"users", http.MethodPost, 201, 4, "201", "POST"},
		{"orders", http.MethodDelete, 503, 1, "503", "DELETE"},
		{"orders", http.MethodGet, 0, 5, "200", "GET"},
		{"orders", "PROPFIND", 207, 2, "207", "OTHER"},
		{"orders", "get", 200, 1, "200", "OTHER"}, // methods are case-sensitive
		{"orders", http.MethodPut, 600, 2, "other", "PUT"},
	}
	for _, c := range cases {
		h := routed(c.route, m.Middleware(status(c.code)))
		for range c.n {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, "/x?secret=1", nil))
		}
	}
	for _, c := range cases {
		labels := map[string]string{"route": c.route, "method": c.wantMethod, "code": c.wantCode}
		got := counterValue(t, reg, RequestsTotal, labels)
		want := float64(c.n)
		if c.wantMethod == "OTHER" && c.route == "orders" && c.wantCode == "200" {
			want = 1
		}
		if got != want {
			t.Errorf("%v = %v, want %v", labels, got, want)
		}
	}
	// Exactly the series above: no raw methods, paths or codes leak in.
	if n, err := testutil.GatherAndCount(reg, RequestsTotal); err != nil || n != len(cases) {
		t.Errorf("%d request series (err %v), want %d", n, err, len(cases))
	}
	// One duration series per (route, method): users GET/POST, orders DELETE/GET/OTHER/PUT.
	if n, err := testutil.GatherAndCount(reg, RequestDuration); err != nil || n != 6 {
		t.Errorf("%d duration series (err %v), want 6", n, err)
	}
	sz := find(t, reg, ResponseSize, map[string]string{"route": "users"})
	if got := sz.GetHistogram().GetSampleSum(); got != 9*5 {
		t.Errorf("users response bytes = %v, want 45", got)
	}
}

func TestConcurrentRequestsExact(t *testing.T) {
	m, reg := newMetrics(t)
	h := routed("r", m.Middleware(status(200)))
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			}
		})
	}
	wg.Wait()
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "r", "code": "200"}); got != workers*each {
		t.Fatalf("count = %v, want %d", got, workers*each)
	}
	d := find(t, reg, RequestDuration, map[string]string{"route": "r", "method": "GET"})
	if got := d.GetHistogram().GetSampleCount(); got != workers*each {
		t.Fatalf("duration count = %v, want %d", got, workers*each)
	}
}

func TestInFlight(t *testing.T) {
	m, reg := newMetrics(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := routed("slow", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})))
	done := make(chan struct{})
	for range 2 {
		go func() {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			done <- struct{}{}
		}()
	}
	<-entered
	<-entered
	labels := map[string]string{"route": "slow"}
	if got := gaugeValue(t, reg, RequestsInFlight, labels); got != 2 {
		t.Fatalf("in flight during requests = %v, want 2", got)
	}
	if got := counterValue(t, reg, RequestsTotal, labels); got != 0 {
		t.Fatalf("counted %v requests before they finished", got)
	}
	close(release)
	<-done
	<-done
	if got := gaugeValue(t, reg, RequestsInFlight, labels); got != 0 {
		t.Fatalf("in flight after requests = %v, want 0", got)
	}
	if got := counterValue(t, reg, RequestsTotal, labels); got != 2 {
		t.Fatalf("counted %v, want 2", got)
	}
}

func TestPanicCounted(t *testing.T) {
	m, reg := newMetrics(t)
	h := routed("boom", m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	func() {
		defer func() {
			if recover() != "boom" {
				t.Error("panic was not propagated")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "boom", "code": "500"}); got != 1 {
		t.Errorf("panics counted as 500: %v, want 1", got)
	}
	if got := gaugeValue(t, reg, RequestsInFlight, map[string]string{"route": "boom"}); got != 0 {
		t.Errorf("in flight after panic = %v, want 0", got)
	}
}

func TestHistograms(t *testing.T) {
	m, reg := newMetrics(t)
	h := routed("r", m.Middleware(status(200)))
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	m.ObserveUpstream("u", 200, 30*time.Millisecond)
	for _, c := range []struct {
		name   string
		labels map[string]string
		count  uint64
	}{
		{RequestDuration, map[string]string{"route": "r"}, 10},
		{UpstreamRequestDuration, map[string]string{"upstream": "u"}, 1},
	} {
		mt := find(t, reg, c.name, c.labels)
		if mt == nil {
			t.Fatalf("%s: no series", c.name)
		}
		hg := mt.GetHistogram()
		if hg.GetSampleCount() != c.count {
			t.Errorf("%s: count %d, want %d", c.name, hg.GetSampleCount(), c.count)
		}
		// Native: a schema and populated sparse buckets.
		if hg.Schema == nil || hg.GetSchema() != 3 {
			t.Errorf("%s: native schema = %v, want 3 (factor 1.1)", c.name, hg.Schema)
		}
		if len(hg.GetPositiveSpan()) == 0 || len(hg.GetPositiveDelta()) == 0 {
			t.Errorf("%s: no native positive buckets", c.name)
		}
		// Classic: every default bucket, cumulative, ending at the count.
		b := hg.GetBucket()
		if len(b) != len(DefaultBuckets) {
			t.Fatalf("%s: %d classic buckets, want %d", c.name, len(b), len(DefaultBuckets))
		}
		for i, bk := range b {
			if bk.GetUpperBound() != DefaultBuckets[i] {
				t.Errorf("%s: bucket %d le=%v, want %v", c.name, i, bk.GetUpperBound(), DefaultBuckets[i])
			}
		}
		if b[len(b)-1].GetCumulativeCount() != c.count {
			t.Errorf("%s: le=10 bucket %d, want %d", c.name, b[len(b)-1].GetCumulativeCount(), c.count)
		}
	}
	// The upstream observation of 30ms lands in (0.025, 0.05].
	ub := find(t, reg, UpstreamRequestDuration, nil).GetHistogram().GetBucket()
	if ub[4].GetCumulativeCount() != 0 || ub[5].GetCumulativeCount() != 1 {
		t.Errorf("30ms not in the 0.05 bucket: %v", ub)
	}
}

func TestNativeHistogramOff(t *testing.T) {
	m, reg := newMetrics(t, WithNativeHistogram(1), WithBuckets([]float64{0.1, 1}))
	m.ObserveUpstream("u", 200, time.Millisecond)
	hg := find(t, reg, UpstreamRequestDuration, nil).GetHistogram()
	if hg.Schema != nil || len(hg.GetBucket()) != 2 {
		t.Errorf("schema %v, %d buckets; want classic only with 2 buckets", hg.Schema, len(hg.GetBucket()))
	}
}

func TestNewErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Error("second New on one registry succeeded")
	}

	// A conflict on a later collector must roll back the earlier ones.
	reg = prometheus.NewRegistry()
	other, _ := newMetrics(t)
	squatter := other.upReqs // the fifth collector New registers
	reg.MustRegister(squatter)
	if _, err := New(reg); err == nil {
		t.Fatal("New succeeded over a conflicting collector")
	}
	reg.Unregister(squatter)
	if _, err := New(reg); err != nil {
		t.Errorf("New after a failed New: %v (collectors left registered)", err)
	}

	for _, b := range [][]float64{nil, {1, 1}, {2, 1}} {
		if _, err := New(prometheus.NewRegistry(), WithBuckets(b)); err == nil {
			t.Errorf("buckets %v accepted", b)
		}
	}
	if _, err := New(prometheus.NewRegistry(), WithSizeBuckets([]float64{3, 2})); err == nil {
		t.Error("bad size buckets accepted")
	}
}

func TestUpstream(t *testing.T) {
	m, reg := newMetrics(t)
	m.ObserveUpstream("users", 200, time.Millisecond)
	m.ObserveUpstream("users", 200, time.Millisecond)
	m.ObserveUpstream("users", 0, time.Second)
	m.ObserveUpstream("users", 1000, time.Millisecond)
	m.ObserveUpstream("orders", 502, time.Millisecond)
	m.SetInstances("users", 3, 1, 2)
	m.SetInstances("users", 4, 0, 2)
	m.SetPanic("users", true)
	m.SetPanic("orders", true)
	m.SetPanic("orders", false)
	m.ObserveRetry("users", "timeout")
	m.ObserveRetry("users", "timeout")
	m.ObserveRetry("users", "connect")

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
		gauge  bool
	}{
		{UpstreamRequestsTotal, map[string]string{"upstream": "users", "code": "200"}, 2, false},
		{UpstreamRequestsTotal, map[string]string{"upstream": "users", "code": "error"}, 1, false},
		{UpstreamRequestsTotal, map[string]string{"upstream": "users", "code": "other"}, 1, false},
		{UpstreamRequestsTotal, map[string]string{"upstream": "orders", "code": "502"}, 1, false},
		{UpstreamRetriesTotal, map[string]string{"upstream": "users", "reason": "timeout"}, 2, false},
		{UpstreamRetriesTotal, map[string]string{"upstream": "users", "reason": "connect"}, 1, false},
		{UpstreamInstances, map[string]string{"upstream": "users", "state": "healthy"}, 4, true},
		{UpstreamInstances, map[string]string{"upstream": "users", "state": "ejected"}, 0, true},
		{UpstreamInstances, map[string]string{"upstream": "users", "state": "unhealthy"}, 2, true},
		{UpstreamPanic, map[string]string{"upstream": "users"}, 1, true},
		{UpstreamPanic, map[string]string{"upstream": "orders"}, 0, true},
	} {
		got := counterValue(t, reg, c.name, c.labels)
		if c.gauge {
			got = gaugeValue(t, reg, c.name, c.labels)
		}
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if find(t, reg, UpstreamInstances, map[string]string{"state": "ejected"}) == nil {
		t.Error("ejected=0 is not exported; it must be, so dashboards see the drop")
	}

	m.ForgetUpstream("users")
	for _, name := range []string{UpstreamRequestsTotal, UpstreamRequestDuration, UpstreamInstances, UpstreamPanic, UpstreamRetriesTotal} {
		if find(t, reg, name, map[string]string{"upstream": "users"}) != nil {
			t.Errorf("%s still has users series after ForgetUpstream", name)
		}
	}
	if counterValue(t, reg, UpstreamRequestsTotal, map[string]string{"upstream": "orders"}) != 1 {
		t.Error("ForgetUpstream removed another upstream's series")
	}
	// Coming back starts from zero.
	m.ObserveUpstream("users", 200, time.Millisecond)
	if got := counterValue(t, reg, UpstreamRequestsTotal, map[string]string{"upstream": "users", "code": "200"}); got != 1 {
		t.Errorf("after forget and observe: %v, want 1", got)
	}
}

func TestChiRouter(t *testing.T) {
	m, reg := newMetrics(t)
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	for _, p := range []string{"/users/1", "/users/2", "/nope"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "/users/{id}", "code": "200"}); got != 2 {
		t.Errorf("chi pattern route counted %v, want 2", got)
	}
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "unmatched", "code": "404"}); got != 1 {
		t.Errorf("unmatched 404 counted %v, want 1", got)
	}
	// Without chi or a route table, the route is "unmatched".
	m.Middleware(status(200)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "unmatched", "code": "200"}); got != 1 {
		t.Errorf("bare request counted %v, want 1", got)
	}
}

func TestHijackThroughMiddleware(t *testing.T) {
	m, reg := newMetrics(t)
	srv := httptest.NewServer(routed("ws", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	}))))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
	labels := map[string]string{"route": "ws", "code": "101"}
	eventually(t, "the upgraded request to be counted as 101", func() bool {
		return counterValue(t, reg, RequestsTotal, labels) == 1
	})
}

func TestResponseControllerFlush(t *testing.T) {
	m, _ := newMetrics(t)
	flushErr := make(chan error, 1)
	proceed := make(chan struct{})
	srv := httptest.NewServer(routed("stream", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		flushErr <- http.NewResponseController(w).Flush()
		// The client reads "first" only if the flush went through.
		select {
		case <-proceed:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "second\n")
	}))))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := <-flushErr; err != nil {
		t.Fatalf("ResponseController.Flush: %v", err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v (flush did not reach the client)", line, err)
	}
	close(proceed)
	if rest, _ := io.ReadAll(br); string(rest) != "second\n" {
		t.Fatalf("rest %q", rest)
	}
}

func TestClientClosed(t *testing.T) {
	m, reg := newMetrics(t)
	entered := make(chan struct{})
	srv := httptest.NewServer(routed("gone", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // the client hung up; write nothing
	}))))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want canceled", err)
	}
	eventually(t, "a 499", func() bool {
		return counterValue(t, reg, RequestsTotal, map[string]string{"route": "gone", "code": "499"}) == 1
	})
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "gone", "code": "200"}); got != 0 {
		t.Errorf("canceled request also counted as 200")
	}

	// The proxy's verdict wins over whatever it wrote.
	h := routed("gone", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		request.InfoFrom(r.Context()).SetError(outcome.ErrClientClosed)
		w.WriteHeader(http.StatusBadGateway)
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "gone", "code": "499"}); got != 2 {
		t.Errorf("499 count %v, want 2", got)
	}
}

func TestSharedRecorder(t *testing.T) {
	m, _ := newMetrics(t)
	var inner http.ResponseWriter
	h := m.Middleware(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = w
	})))
	outer := outcome.Wrap(httptest.NewRecorder())
	h.ServeHTTP(outer, httptest.NewRequest("GET", "/", nil))
	if inner != http.ResponseWriter(outer) {
		t.Errorf("handler got %T %p, want the caller's recorder %p (wrapped twice)", inner, inner, outer)
	}
	if !strings.Contains(string(codeNames[statusIndex(599)]), "599") || codeNames[statusIndex(99)] != CodeOther {
		t.Error("status label table is off")
	}
}
