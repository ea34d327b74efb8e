package liveview

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// fixture is a registry with the gateway's request metrics under their real
// names, observed with known values instead of wall-clock durations.
type fixture struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
	instances *prometheus.GaugeVec
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{
		reg:      prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metrics.RequestsTotal, Help: "h"}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metrics.RequestDuration, Help: "h", Buckets: metrics.DefaultBuckets,
			NativeHistogramBucketFactor: 1.1, // as in the gateway: classic buckets must still be used
		}, []string{"route", "method"}),
		inFlight:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metrics.RequestsInFlight, Help: "h"}, []string{"route"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metrics.UpstreamInstances, Help: "h"}, []string{"upstream", "state"}),
	}
	f.reg.MustRegister(f.requests, f.duration, f.inFlight, f.instances)
	return f
}

// serve records n requests of route/method with code, each taking secs.
func (f *fixture) serve(route, method, code string, secs float64, n int) {
	for range n {
		f.requests.WithLabelValues(route, method, code).Inc()
		f.duration.WithLabelValues(route, method).Observe(secs)
	}
}

func (f *fixture) gather(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestCompute(t *testing.T) {
	f := newFixture(t)
	// Before the tick: must not show up in it.
	f.serve("a", "GET", "200", 5, 1000)
	f.serve("b", "GET", "500", 5, 7)
	f.serve("gone", "GET", "200", 0.001, 3)
	prev := f.gather(t)

	// Route a over a 2s tick: 100 requests, 5 of them 503.
	//   50 at 3ms   -> bucket (0.0025, 0.005]
	//   40 at 20ms  -> bucket (0.01, 0.025]
	//   10 at 300ms -> bucket (0.25, 0.5]
	f.serve("a", "GET", "200", 0.003, 45)
	f.serve("a", "POST", "503", 0.003, 5) // another method: merged into the route
	f.serve("a", "GET", "200", 0.020, 40)
	f.serve("a", "GET", "200", 0.300, 10)
	// Route c appears during the tick: 4 requests, not errors (499, other, 404).
	f.serve("c", "GET", "404", 0.040, 2)
	f.serve("c", "GET", "499", 0.040, 1)
	f.serve("c", "GET", "other", 0.040, 1)
	// Route slow: everything beyond the last finite bucket.
	f.serve("slow", "GET", "200", 60, 2)
	f.inFlight.WithLabelValues("b").Set(3)
	f.inFlight.WithLabelValues("idle").Set(1) // in flight, nothing completed yet
	cur := f.gather(t)

	got := Compute(prev, cur, 2*time.Second)
	nan := math.NaN()
	want := []RouteStats{
		// p50: rank 50 is the top of (0.0025, 0.005] -> 0.005.
		// p99: rank 99 is 9 of the 10 in (0.25, 0.5] -> 0.25 + 0.25*0.9.
		{Route: "a", QPS: 50, P50: 0.005, P99: 0.475, ErrorRate: 0.05},
		{Route: "b", QPS: 0, P50: nan, P99: nan, ErrorRate: 0, InFlight: 3},
		// 4 in (0.025, 0.05]: p50 rank 2 -> 0.025 + 0.025*2/4; p99 rank 3.96.
		{Route: "c", QPS: 2, P50: 0.0375, P99: 0.025 + 0.025*3.96/4, ErrorRate: 0},
		{Route: "gone", QPS: 0, P50: nan, P99: nan},
		{Route: "idle", QPS: 0, P50: nan, P99: nan, InFlight: 1},
		// Rank in +Inf: the highest finite bound, as histogram_quantile.
		{Route: "slow", QPS: 1, P50: 10, P99: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d routes %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Route != w.Route || !near(g.QPS, w.QPS) || !near(g.P50, w.P50) || !near(g.P99, w.P99) ||
			!near(g.ErrorRate, w.ErrorRate) || !near(g.InFlight, w.InFlight) {
			t.Errorf("route %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestComputeReset(t *testing.T) {
	f := newFixture(t)
	f.serve("a", "GET", "200", 0.003, 100)
	prev := f.gather(t)

	// The gateway restarted: fresh counters, lower than before.
	f = newFixture(t)
	f.serve("a", "GET", "500", 0.003, 10)
	got := Compute(prev, f.gather(t), time.Second)
	if len(got) != 1 || got[0].QPS != 10 || got[0].ErrorRate != 1 || !near(got[0].P50, 0.0025+0.0025*0.5) {
		t.Errorf("after reset: %+v, want 10 qps of 500s at p50 3.75ms", got)
	}
}

func TestComputeFirstTick(t *testing.T) {
	f := newFixture(t)
	f.serve("a", "GET", "200", 0.003, 10)
	// Without a previous gather everything so far counts as the tick.
	got := Compute(nil, f.gather(t), 5*time.Second)
	if len(got) != 1 || got[0].QPS != 2 {
		t.Errorf("%+v", got)
	}
	// A zero tick gives no rate rather than +Inf.
	if got := Compute(nil, f.gather(t), 0); got[0].QPS != 0 {
		t.Errorf("zero elapsed: QPS %v", got[0].QPS)
	}
}

func TestQuantileMatchesPrometheus(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		q             float64
		bounds, count []float64
		want          float64
	}{
		{0.5, []float64{1, 2, inf}, []float64{0, 10, 10}, 1.5},
		{0.9, []float64{1, 2, inf}, []float64{5, 10, 10}, 1.8},
		{0.5, []float64{1, 2, inf}, []float64{10, 10, 10}, 0.5}, // first bucket starts at 0
		{0.5, []float64{-1, 2, inf}, []float64{10, 10, 10}, -1}, // non-positive first bound
		{0.99, []float64{1, 2, inf}, []float64{0, 0, 10}, 2},    // +Inf bucket
		{0.5, []float64{1, 2, inf}, []float64{0, 0, 0}, math.NaN()},
		{0.5, []float64{inf}, []float64{4}, math.NaN()},
		{1.5, []float64{1, inf}, []float64{1, 1}, inf},
		{-1, []float64{1, inf}, []float64{1, 1}, math.Inf(-1)},
	} {
		if got := Quantile(c.q, c.bounds, c.count); !near(got, c.want) && got != c.want {
			t.Errorf("Quantile(%v, %v, %v) = %v, want %v", c.q, c.bounds, c.count, got, c.want)
		}
	}
}

func TestUpstreams(t *testing.T) {
	f := newFixture(t)
	f.instances.WithLabelValues("users", metrics.StateHealthy).Set(3)
	f.instances.WithLabelValues("users", metrics.StateEjected).Set(1)
	f.instances.WithLabelValues("users", metrics.StateUnhealthy).Set(2)
	f.instances.WithLabelValues("auth", metrics.StateHealthy).Set(1)
	got := Upstreams(f.gather(t))
	want := []UpstreamStats{{"auth", 1, 0, 0}, {"users", 3, 1, 2}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRender(t *testing.T) {
	var buf bytes.Buffer
	err := Render(&buf, []RouteStats{
		{Route: "api", QPS: 1234.5, P50: 0.0042, P99: 1.5, ErrorRate: 0.125, InFlight: 7},
		{Route: "quiet", P50: math.NaN(), P99: math.NaN()},
		{Route: "fast", QPS: 1, P50: 0.00025, P99: 0.0009},
	}, []UpstreamStats{{"users", 3, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	fields := func(i int) string { return strings.Join(strings.Fields(ls[i]), " ") }
	for i, want := range []string{
		"ROUTE QPS P50 P99 ERRORS IN FLIGHT",
		"api 1234.5 4.2ms 1.50s 12.5% 7",
		"quiet 0.0 - - - 0",
		"fast 1.0 250µs 900µs 0.0% 0",
		"",
		"UPSTREAM HEALTHY EJECTED UNHEALTHY",
		"users 3 1 0",
	} {
		if i >= len(ls) || fields(i) != want {
			t.Fatalf("line %d = %q, want %q\n%s", i, fields(min(i, len(ls)-1)), want, buf.String())
		}
	}
	// Columns line up: every row has the same width.
	for i := 1; i < 4; i++ {
		if len([]rune(ls[i])) != len([]rune(ls[0])) {
			t.Errorf("row %d is %d wide, header %d:\n%s", i, len([]rune(ls[i])), len([]rune(ls[0])), buf.String())
		}
	}
}

func runUntil(t *testing.T, g prometheus.Gatherer, clear bool, cond func(string) bool) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out logcapture.Buffer
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, g, &out, 5*time.Millisecond, clear) }()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(out.String()) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("timed out; output so far:\n%s", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

// TestRunWithGateway drives the real metrics middleware and checks the view
// reads what it exports (names and labels agree).
func TestRunWithGateway(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.SetInstances("users-svc", 2, 1, 0)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			req := httptest.NewRequest("GET", "/", nil)
			req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
			h.ServeHTTP(httptest.NewRecorder(), req)
			time.Sleep(100 * time.Microsecond) // pace the load; not a wait for a condition
		}
	})
	defer func() { close(stop); wg.Wait() }()

	out := runUntil(t, reg, false, func(s string) bool {
		for line := range strings.Lines(s) {
			f := strings.Fields(line)
			// A tick with traffic: nonzero QPS, all of it 5xx.
			if len(f) == 6 && f[0] == "users" && f[1] != "0.0" && f[4] == "100.0%" {
				return true
			}
		}
		return false
	})
	if !strings.Contains(out, "users-svc") || strings.Contains(out, ClearScreen) {
		t.Errorf("output:\n%s", out)
	}
}

var frameAfterBlankLine = regexp.MustCompile(`\n\n\d\d:\d\d:\d\d  \(last \d`)

func TestRunBlocksAndClear(t *testing.T) {
	f := newFixture(t)
	f.serve("a", "GET", "200", 0.003, 1)
	twoBlocks := func(s string) bool { return strings.Count(s, "ROUTE") >= 2 }

	out := runUntil(t, f.reg, false, twoBlocks)
	if strings.Contains(out, "\x1b[") {
		t.Error("ANSI codes written without clear")
	}
	if !frameAfterBlankLine.MatchString(out) {
		t.Errorf("blocks not separated by a blank line:\n%q", out)
	}

	out = runUntil(t, f.reg, true, twoBlocks)
	if strings.Count(out, ClearScreen) < 2 || !strings.HasPrefix(out, ClearScreen) {
		t.Errorf("no screen clear before each block:\n%q", out)
	}
}

func TestRunErrors(t *testing.T) {
	if err := Run(context.Background(), prometheus.NewRegistry(), &bytes.Buffer{}, 0, false); err == nil {
		t.Error("zero tick accepted")
	}
	bad := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return nil, context.DeadlineExceeded })
	if err := Run(context.Background(), bad, &bytes.Buffer{}, time.Millisecond, false); err == nil {
		t.Error("gather error not returned")
	}
}
