package health_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
)

// backend is an httptest server whose status can be switched and which
// counts its probes.
type backend struct {
	*httptest.Server
	status atomic.Int32
	probes atomic.Int32
	mu     sync.Mutex
	last   string // path?query of the last request
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.status.Store(http.StatusOK)
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last = r.URL.RequestURI()
		b.mu.Unlock()
		b.probes.Add(1)
		w.WriteHeader(int(b.status.Load()))
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) baseURL() *url.URL {
	u, _ := url.Parse(b.URL)
	return u
}

func (b *backend) lastRequest() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitFor polls cond until it holds or 5s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestActiveProbeStatusAndPath(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	var a health.Active
	if err := a.Probe(ctx, b.baseURL()); err != nil {
		t.Fatalf("200: %v", err)
	}
	if got := b.lastRequest(); got != "/healthz" {
		t.Errorf("default path requested %q, want /healthz", got)
	}

	custom := health.Active{Path: "ready?deep=1"}
	base := b.baseURL()
	base.Path = "/svc/"
	if err := custom.Probe(ctx, base); err != nil {
		t.Fatal(err)
	}
	if got := b.lastRequest(); got != "/svc/ready?deep=1" {
		t.Errorf("custom path requested %q, want /svc/ready?deep=1", got)
	}

	b.status.Store(http.StatusServiceUnavailable)
	err := a.Probe(ctx, b.baseURL())
	if err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("503: err = %v, want one naming status 503", err)
	}

	// A redirect is judged as is, not followed (following it would fail:
	// the target is dead).
	b.status.Store(http.StatusOK)
	redirect := httptest.NewServer(http.RedirectHandler("http://"+deadAddr(t)+"/", http.StatusFound))
	defer redirect.Close()
	ru, _ := url.Parse(redirect.URL)
	if err := a.Probe(ctx, ru); err != nil {
		t.Errorf("302 with default ExpectStatus: %v", err)
	}
	strict := health.Active{ExpectStatus: func(code int) bool { return code == http.StatusOK }}
	if err := strict.Probe(ctx, ru); err == nil || !strings.Contains(err.Error(), "status 302") {
		t.Errorf("302 with ExpectStatus 200 only: err = %v, want status 302", err)
	}
}

// TestActiveProbeEscapedPath: a Path already percent-encoded was escaped
// again ("/health%2Fcheck" went out as "/health%252Fcheck"), so the probe
// hit a route that does not exist and healthy instances were marked down.
func TestActiveProbeEscapedPath(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	for _, c := range []struct{ base, path, want string }{
		{"", "/health%2Fcheck", "/health%2Fcheck"},
		{"", "/a%20b?x=%2F", "/a%20b?x=%2F"},
		{"/svc%2Fone/", "ready", "/svc%2Fone/ready"},
		{"", "/a b", "/a%20b"},       // not encoded: encoded once
		{"", "/50%", "/50%25"},       // not valid encoding: taken literally
		{"", "/healthz", "/healthz"}, // nothing to escape
	} {
		base, err := url.Parse(b.URL + c.base)
		if err != nil {
			t.Fatal(err)
		}
		if err := (health.Active{Path: c.path}).Probe(ctx, base); err != nil {
			t.Fatalf("base %q path %q: %v", c.base, c.path, err)
		}
		if got := b.lastRequest(); got != c.want {
			t.Errorf("base %q path %q: requested %q, want %q", c.base, c.path, got, c.want)
		}
	}
}

func TestActiveProbeConnectRefused(t *testing.T) {
	var a health.Active
	err := a.Probe(context.Background(), &url.URL{Scheme: "http", Host: deadAddr(t)})
	if err == nil || !strings.Contains(err.Error(), "connect") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want a connect error wrapping ECONNREFUSED", err)
	}
}

func TestActiveProbeTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // runs before Close, which waits for handlers
	u, _ := url.Parse(slow.URL)
	a := health.Active{Timeout: 50 * time.Millisecond}
	start := time.Now()
	err := a.Probe(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a timeout after 50ms", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("probe took %v, want about the 50ms timeout", d)
	}
}

func TestActiveRecordThresholds(t *testing.T) {
	var a health.Active // 3 down, 2 up
	var s health.State
	bad := errors.New("bad")
	if s.ActiveDown() {
		t.Fatal("new state starts down")
	}
	steps := []struct {
		err         error
		changed     bool
		down        bool
		description string
	}{
		{bad, false, false, "1st failure"},
		{bad, false, false, "2nd failure"},
		{nil, false, false, "success resets the failure run"},
		{bad, false, false, "1st failure again"},
		{bad, false, false, "2nd failure again"},
		{bad, true, true, "3rd failure: down"},
		{bad, false, true, "4th failure: still down, no change"},
		{nil, false, true, "1st success"},
		{bad, false, true, "failure resets the success run"},
		{nil, false, true, "1st success again"},
		{nil, true, false, "2nd success: up"},
		{nil, false, false, "3rd success: no change"},
	}
	for _, st := range steps {
		if changed := a.Record(&s, st.err); changed != st.changed || s.ActiveDown() != st.down {
			t.Fatalf("%s: changed=%v down=%v, want changed=%v down=%v", st.description, changed, s.ActiveDown(), st.changed, st.down)
		}
	}
	if !s.Available(t0) {
		t.Error("up and never ejected, but not available")
	}
}

// TestActiveBackendGoesDownAndUp drives Probe and Record against a real
// backend that starts failing and then recovers.
func TestActiveBackendGoesDownAndUp(t *testing.T) {
	b := newBackend(t)
	a := health.Active{HealthyThreshold: 2, UnhealthyThreshold: 3, Timeout: time.Second}
	var s health.State
	probe := func() bool { return a.Record(&s, a.Probe(context.Background(), b.baseURL())) }

	b.status.Store(http.StatusInternalServerError)
	for i := 1; i <= 2; i++ {
		if probe() || s.ActiveDown() {
			t.Fatalf("down after %d bad probes, want 3", i)
		}
	}
	if !probe() || !s.ActiveDown() {
		t.Fatal("not down after 3 bad probes")
	}
	if s.Available(time.Now()) {
		t.Fatal("down but available")
	}
	b.status.Store(http.StatusOK)
	if probe() || !s.ActiveDown() {
		t.Fatal("up after 1 good probe, want 2")
	}
	if !probe() || s.ActiveDown() {
		t.Fatal("not up after 2 good probes")
	}
}

// TestActiveRun runs the checker with a short interval over two real
// backends (as balance.Endpoints, the production Target) and one dead
// address, waiting on observed state rather than on fixed sleeps.
func TestActiveRun(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	epA := balance.NewEndpoint(discovery.Instance{Addr: a.Listener.Addr().String()})
	epB := balance.NewEndpoint(discovery.Instance{Addr: b.Listener.Addr().String()})
	dead := balance.NewEndpoint(discovery.Instance{Addr: deadAddr(t)})
	targets := func() []health.Target { return []health.Target{epA, epB, dead} }
	var changes atomic.Int32

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	checker := health.Active{Interval: 20 * time.Millisecond, Timeout: time.Second}
	go func() {
		defer close(done)
		checker.Run(ctx, targets, func() { changes.Add(1) })
	}()
	defer func() { cancel(); <-done }()

	waitFor(t, "the dead instance to go down", dead.Health.ActiveDown)
	waitFor(t, "onChange after it went down", func() bool { return changes.Load() == 1 })
	if epA.Health.ActiveDown() || epB.Health.ActiveDown() {
		t.Fatal("a healthy backend went down")
	}

	// Several quiet rounds: nothing changes, so no onChange.
	probes := a.probes.Load()
	waitFor(t, "three more rounds", func() bool { return a.probes.Load() >= probes+3 })
	if n := changes.Load(); n != 1 {
		t.Fatalf("onChange called %d times, want 1 while nothing changed", n)
	}

	a.status.Store(http.StatusInternalServerError)
	waitFor(t, "backend A to go down", epA.Health.ActiveDown)
	waitFor(t, "onChange for A down", func() bool { return changes.Load() == 2 })
	a.status.Store(http.StatusOK)
	waitFor(t, "backend A to come back", func() bool { return !epA.Health.ActiveDown() })
	waitFor(t, "onChange for A up", func() bool { return changes.Load() == 3 })
	if epB.Health.ActiveDown() || !dead.Health.ActiveDown() {
		t.Fatal("B or the dead instance changed state without cause")
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	probes = a.probes.Load()
	time.Sleep(60 * time.Millisecond) // three intervals: a live Run would probe
	if a.probes.Load() != probes {
		t.Error("probes continued after Run returned")
	}
}

// TestActiveRunBoundsConcurrency probes 40 targets on a slow backend and
// checks at most 16 probes are in flight at once, but more than one.
func TestActiveRunBoundsConcurrency(t *testing.T) {
	var inFlight, peak, total atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		total.Add(1)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ts := make([]health.Target, 40)
	for i := range ts {
		ts[i] = &target{base: u}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		health.Active{Interval: time.Hour}.Run(ctx, func() []health.Target { return ts }, nil)
	}()
	waitFor(t, "the first round", func() bool { return total.Load() == 40 })
	cancel()
	<-done
	if p := peak.Load(); p > 16 || p < 2 {
		t.Errorf("peak concurrent probes %d, want 2..16", p)
	}
}

type target struct {
	base  *url.URL
	state health.State
}

func (t *target) BaseURL() *url.URL          { return t.base }
func (t *target) HealthState() *health.State { return &t.state }
