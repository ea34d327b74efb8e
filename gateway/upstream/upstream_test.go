package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/upstream"
)

var quiet = upstream.WithLogger(slog.New(slog.DiscardHandler))

// pushResolver lets a test deliver arbitrary updates, errors included.
type pushResolver struct{ ch chan discovery.Update }

func (p pushResolver) Watch(ctx context.Context, _ string, fn func(discovery.Update)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-p.ch:
			fn(u)
		}
	}
}

type counts struct {
	mu                         sync.Mutex
	healthy, ejected, unhealth int
	stale, panic               bool
}

func (c *counts) SetPanic(_ string, panic bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.panic = panic
}

func (c *counts) panicking() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.panic
}

func (c *counts) SetStale(_ string, stale bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stale = stale
}

func (c *counts) SetInstances(_ string, h, e, u int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.healthy, c.ejected, c.unhealth = h, e, u
}

func (c *counts) get() (int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy, c.ejected, c.unhealth
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestUpdatesKeepEndpointState(t *testing.T) {
	res := pushResolver{ch: make(chan discovery.Update)}
	obs := &counts{}
	u := upstream.New("svc", res, upstream.WithPolicy(balance.RoundRobin{}), upstream.WithObserver(obs), quiet)
	u.Start(context.Background())
	defer u.Close()

	a, b := discovery.Instance{Addr: "127.0.0.1:1001"}, discovery.Instance{Addr: "127.0.0.1:1002"}
	res.ch <- discovery.Update{Instances: []discovery.Instance{a, b}}
	<-u.Ready()
	waitFor(t, "two admitted", func() bool { return u.Admitted() == 2 })
	epA := u.Endpoints()[0]
	epA.Acquire() // a request in flight on a

	// b goes away, c arrives; a keeps its identity and its in-flight count.
	c := discovery.Instance{Addr: "127.0.0.1:1003"}
	res.ch <- discovery.Update{Instances: []discovery.Instance{a, c}}
	waitFor(t, "a and c", func() bool {
		eps := u.Endpoints()
		return len(eps) == 2 && eps[1].Addr == c.Addr
	})
	if got := u.Endpoints()[0]; got != epA || got.InFlight() != 1 {
		t.Fatalf("endpoint a was replaced or lost its in-flight count: %p vs %p, inflight %d", got, epA, got.InFlight())
	}
	epA.Release()

	// Discovery fails: the last set stays and the upstream reports stale.
	res.ch <- discovery.Update{Err: errors.New("consul unreachable")}
	waitFor(t, "stale", func() bool { return u.Stale() != nil })
	if u.Admitted() != 2 {
		t.Fatalf("admitted = %d after a discovery error, want the last known 2", u.Admitted())
	}
	obs.mu.Lock()
	if !obs.stale {
		t.Error("observer not told the upstream is stale")
	}
	obs.mu.Unlock()
	// An empty set from a live source is honoured.
	res.ch <- discovery.Update{Instances: []discovery.Instance{}}
	waitFor(t, "empty", func() bool { return u.Admitted() == 0 && u.Stale() == nil })
	if u.Pick(httptest.NewRequest("GET", "/", nil)) != nil {
		t.Fatal("Pick returned an endpoint from an empty set")
	}
	if h, _, _ := obs.get(); h != 0 {
		t.Fatalf("observer saw %d healthy, want 0", h)
	}
	// Invalid instances are skipped, not fatal.
	res.ch <- discovery.Update{Instances: []discovery.Instance{{Addr: "nonsense"}, a}}
	waitFor(t, "one valid", func() bool { return u.Admitted() == 1 })
}

func TestEjectionRespectsMaxPercent(t *testing.T) {
	insts := []discovery.Instance{{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}, {Addr: "127.0.0.1:3"}, {Addr: "127.0.0.1:4"}}
	obs := &counts{}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}), quiet, upstream.WithObserver(obs),
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Hour, MaxEjectionPercent: 50}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	for _, ep := range u.Endpoints() {
		u.Observe(ep, true)
		u.Observe(ep, true)
	}
	if got := u.Admitted(); got != 2 {
		t.Fatalf("admitted after every instance failed = %d, want 2 (at most 50%% ejected)", got)
	}
	if h, e, _ := obs.get(); h != 2 || e != 2 {
		t.Fatalf("observer: healthy %d ejected %d, want 2 and 2", h, e)
	}
}

func TestActiveChecksTakeInstancesOut(t *testing.T) {
	up := httptest.NewServer(nil) // 404 on every path: unhealthy
	defer up.Close()
	addr := up.Listener.Addr().String()
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: addr}}}), quiet,
		upstream.WithActiveHealth(health.Active{Interval: 10 * time.Millisecond, Timeout: time.Second, UnhealthyThreshold: 2, HealthyThreshold: 1}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	waitFor(t, "active checks mark the 404ing instance down", func() bool { return u.Admitted() == 0 })
}

// TestReadmissionStartsANewFailureRun: requests that were already in flight
// when an instance was ejected keep failing after the ejection. Those
// failures belong to the ejected period; once the instance is re-admitted a
// single new failure must not eject it again (State.Readmit's contract).
func TestReadmissionStartsANewFailureRun(t *testing.T) {
	insts := []discovery.Instance{{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}, {Addr: "127.0.0.1:3"}}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}), quiet,
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 3, BaseEjection: 500 * time.Millisecond, MaxEjectionPercent: 50}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	ep := u.Endpoints()[0]
	for range 3 {
		u.Observe(ep, true)
	}
	if got := u.Admitted(); got != 2 {
		t.Fatalf("admitted = %d after 3 failures, want 2", got)
	}
	for range 3 { // the requests in flight at the ejection fail late
		u.Observe(ep, true)
	}
	waitFor(t, "re-admission", func() bool { return u.Admitted() == 3 })
	u.Observe(ep, true)
	if got := u.Admitted(); got != 3 {
		t.Fatalf("admitted = %d: one failure after re-admission ejected the instance again (failures counted %d)", got, ep.Health.ConsecutiveFailures())
	}
}

// TestEjectionCountsActiveDown: with one of two instances held down by
// active checks, passive health must not eject the other — that would leave
// no instance at all, which MaxEjectionPercent exists to prevent.
func TestEjectionCountsActiveDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler()) // fails every probe
	defer down.Close()
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer up.Close()
	insts := []discovery.Instance{{Addr: down.Listener.Addr().String()}, {Addr: up.Listener.Addr().String()}}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}), quiet,
		upstream.WithActiveHealth(health.Active{Interval: 10 * time.Millisecond, UnhealthyThreshold: 1, HealthyThreshold: 1}),
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Hour}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	waitFor(t, "active checks take the 404ing instance down", func() bool { return u.Admitted() == 1 })
	var last *balance.Endpoint
	for _, ep := range u.Endpoints() {
		if ep.Addr == up.Listener.Addr().String() {
			last = ep
		}
	}
	for range 4 {
		u.Observe(last, true)
	}
	if got := u.Admitted(); got != 1 {
		t.Fatalf("admitted = %d: passive health ejected the last instance active checks left", got)
	}
}

// TestChangedInstanceKeepsHealth: an instance whose attributes change under
// the same key (Consul moves a degrading instance from its passing to its
// warning weight, a reload changes a static weight) is the same instance:
// an ejection in force stays in force and still ends on time.
func TestChangedInstanceKeepsHealth(t *testing.T) {
	res := pushResolver{ch: make(chan discovery.Update)}
	u := upstream.New("svc", res, quiet,
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Second}))
	u.Start(context.Background())
	defer u.Close()
	a := discovery.Instance{ID: "a", Addr: "127.0.0.1:1001", Weight: 5}
	b := discovery.Instance{ID: "b", Addr: "127.0.0.1:1002"}
	res.ch <- discovery.Update{Instances: []discovery.Instance{a, b}}
	<-u.Ready()
	waitFor(t, "two admitted", func() bool { return u.Admitted() == 2 })
	epA := u.Endpoints()[0]
	u.Observe(epA, true)
	u.Observe(epA, true)
	if u.Admitted() != 1 {
		t.Fatalf("admitted = %d, want a ejected", u.Admitted())
	}

	a.Weight = 1
	res.ch <- discovery.Update{Instances: []discovery.Instance{a, b}}
	waitFor(t, "the new weight", func() bool { return u.Endpoints()[0].Weight == 1 })
	if got := u.Admitted(); got != 1 {
		t.Fatalf("admitted = %d after a's weight changed: its ejection was forgotten", got)
	}
	if n := u.Endpoints()[0].Health.Ejections(); n != 1 {
		t.Errorf("ejection count %d after the change, want 1", n)
	}
	waitFor(t, "re-admission at the end of the ejection", func() bool { return u.Admitted() == 2 })
}

// TestPickOtherSpreadsRetries: when the balancer keeps choosing an instance
// that failed (a hash owner that is down but not ejected: passive health off
// or MaxEjectionPercent reached), the retries of all its keys go through
// PickOther. They must spread over the other instances, not all land on the
// first one and double its load.
func TestPickOtherSpreadsRetries(t *testing.T) {
	insts := []discovery.Instance{{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}, {Addr: "127.0.0.1:3"}, {Addr: "127.0.0.1:4"}}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}), quiet)
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	eps := u.Endpoints()
	tried := []*balance.Endpoint{eps[3]} // the failed owner
	got := map[*balance.Endpoint]int{}
	for range 300 {
		ep := u.PickOther(tried)
		if ep == nil || ep == eps[3] {
			t.Fatalf("PickOther(%s) = %v", eps[3].Addr, ep)
		}
		got[ep]++
	}
	if len(got) != 3 {
		t.Fatalf("300 retries went to %d of the 3 untried instances: %v", len(got), got)
	}
	if u.PickOther(eps) != nil {
		t.Fatal("PickOther returned an endpoint although every one was tried")
	}
}

// TestRepeatedAnswerKeepsRotation: a resolver that repeats its answer —
// the Kubernetes one with each retry of a failing watch, a stale update
// per cycle — rebuilt the picker each time, and a new round robin starts
// at a random place: the strict rotation broke at every repetition. An
// update that changes no member leaves the picker as it is.
func TestRepeatedAnswerKeepsRotation(t *testing.T) {
	res := pushResolver{ch: make(chan discovery.Update)}
	u := upstream.New("svc", res, upstream.WithPolicy(balance.RoundRobin{}), quiet)
	u.Start(context.Background())
	defer u.Close()
	set := []discovery.Instance{{Addr: "127.0.0.1:1001"}, {Addr: "127.0.0.1:1002"}}
	res.ch <- discovery.Update{Instances: set}
	<-u.Ready()
	waitFor(t, "two admitted", func() bool { return u.Admitted() == 2 })
	req := httptest.NewRequest("GET", "/", nil)
	prev := u.Pick(req)
	for i := range 40 {
		up := discovery.Update{Instances: slices.Clone(set)}
		if i%2 == 1 {
			up.Err = errors.New("watch forbidden") // a stale repetition
		}
		// The second send returns once the first delivery was applied:
		// the resolver's goroutine takes one update at a time.
		res.ch <- up
		res.ch <- up
		next := u.Pick(req)
		if next == prev {
			t.Fatalf("repetition %d: %s picked twice in a row; the rotation restarted", i, next.Addr)
		}
		prev = next
	}
}

// TestResolvedOnlyByASet: a resolver that has only failed has said
// something (Ready) but resolved nothing; a set, even an empty one or one
// delivered with the error of a later failure, resolves.
func TestResolvedOnlyByASet(t *testing.T) {
	res := pushResolver{ch: make(chan discovery.Update)}
	u := upstream.New("svc", res, quiet)
	u.Start(context.Background())
	defer u.Close()
	down := discovery.Update{Err: errors.New("consul unreachable")}
	res.ch <- down
	res.ch <- down // applied the first
	<-u.Ready()
	if u.Resolved() {
		t.Fatal("resolved by a failure alone")
	}
	if u.Stale() == nil {
		t.Fatal("no error recorded")
	}
	empty := discovery.Update{Instances: []discovery.Instance{}}
	res.ch <- empty
	res.ch <- empty
	if !u.Resolved() || u.Stale() != nil {
		t.Fatalf("after an empty set: resolved %t, stale %v; want resolved, not stale", u.Resolved(), u.Stale())
	}
	res.ch <- down
	res.ch <- down
	if !u.Resolved() {
		t.Fatal("a later failure forgot the set")
	}
}

// TestClosedUpstreamLeavesItsNameAlone: a request still in flight on an
// upstream that a reload replaced fails after the replacement. The closed
// upstream must not eject for it nor report its instance counts: the
// gatescale_upstream_instances series of its name belong to the upstream
// that took the name, which has both instances admitted.
func TestClosedUpstreamLeavesItsNameAlone(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	res := discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}}})
	passive := upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Hour})
	old := upstream.New("svc", res, passive, upstream.WithObserver(m), quiet)
	old.Start(context.Background())
	<-old.Ready()
	inFlight := old.Endpoints()[0]

	next := upstream.New("svc", res, passive, upstream.WithObserver(m), upstream.WithPredecessor(old), quiet)
	next.Start(context.Background())
	defer next.Close()
	<-next.Ready()
	old.Close()

	old.Observe(inFlight, true) // the in-flight request's 5xx
	if got := old.Admitted(); got != 2 {
		t.Errorf("closed upstream ejected an instance: admitted %d, want 2", got)
	}
	for state, want := range map[string]float64{metrics.StateHealthy: 2, metrics.StateEjected: 0} {
		if got := instancesGauge(t, reg, "svc", state); got != want {
			t.Errorf("gatescale_upstream_instances{upstream=svc,state=%s} = %v after the closed upstream's failure, want %v (the running upstream's)", state, got, want)
		}
	}
}

// instancesGauge reads gatescale_upstream_instances{upstream,state} from reg.
func instancesGauge(t *testing.T, reg *prometheus.Registry, name, state string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatescale_upstream_instances" {
			continue
		}
		for _, met := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range met.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["upstream"] == name && labels["state"] == state {
				return met.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gatescale_upstream_instances{upstream=%q,state=%q}", name, state)
	return 0
}

// TestProbeInFlightRecordsOnReplacement: discovery replaces an instance's
// endpoint (a new weight) while an active probe of it is under way. The
// probe's failure belongs to the instance, so it must take the endpoint now
// in the set down, not the one it replaced: a failing instance is not to
// get traffic for one more interval.
func TestProbeInFlightRecordsOnReplacement(t *testing.T) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	res := pushResolver{ch: make(chan discovery.Update)}
	u := upstream.New("svc", res, quiet,
		upstream.WithActiveHealth(health.Active{Interval: 5 * time.Millisecond, Timeout: time.Minute, UnhealthyThreshold: 1}))
	u.Start(context.Background())
	defer u.Close()
	defer close(release) // before Close, which waits for the held probe

	res.ch <- discovery.Update{Instances: []discovery.Instance{{ID: "a", Addr: addr, Weight: 1}}}
	<-u.Ready()
	before := u.Endpoints()[0]
	<-arrived // the first probe of a is held
	res.ch <- discovery.Update{Instances: []discovery.Instance{{ID: "a", Addr: addr, Weight: 2}}}
	waitFor(t, "a's endpoint replaced", func() bool { return u.Endpoints()[0] != before })
	release <- struct{}{} // the held probe fails
	<-arrived             // the next round began, so the first one was recorded
	if got := u.Admitted(); got != 0 {
		t.Fatalf("admitted = %d after the instance failed its probe (threshold 1), want 0: the result went to the replaced endpoint", got)
	}
}

// TestReplacementSharesInFlight: requests in flight on an instance's
// endpoint still load the instance when the endpoint is replaced, by
// discovery (a new weight) or by a rebuilt upstream (WithPredecessor), so
// least-request balancing does not take a busy instance for an idle one;
// and their ends are counted there too.
func TestReplacementSharesInFlight(t *testing.T) {
	res := pushResolver{ch: make(chan discovery.Update)}
	old := upstream.New("svc", res, quiet)
	old.Start(context.Background())
	defer old.Close()
	res.ch <- discovery.Update{Instances: []discovery.Instance{{ID: "a", Addr: "127.0.0.1:1", Weight: 1}}}
	<-old.Ready()
	first := old.Endpoints()[0]
	first.Acquire()

	res.ch <- discovery.Update{Instances: []discovery.Instance{{ID: "a", Addr: "127.0.0.1:1", Weight: 2}}}
	waitFor(t, "a's endpoint replaced", func() bool { return old.Endpoints()[0] != first })
	second := old.Endpoints()[0]
	if got := second.InFlight(); got != 1 {
		t.Fatalf("endpoint that replaced a busy one has %d in flight, want 1", got)
	}
	second.Acquire()

	nextRes := pushResolver{ch: make(chan discovery.Update)}
	next := upstream.New("svc", nextRes, quiet, upstream.WithPredecessor(old))
	next.Start(context.Background())
	defer next.Close()
	nextRes.ch <- discovery.Update{Instances: []discovery.Instance{{ID: "a", Addr: "127.0.0.1:1", Weight: 2}}}
	<-next.Ready()
	third := next.Endpoints()[0]
	if got := third.InFlight(); got != 2 {
		t.Fatalf("endpoint of the rebuilt upstream has %d in flight, want the 2 of the old one", got)
	}
	first.Release()
	second.Release()
	if got := third.InFlight(); got != 0 {
		t.Fatalf("in flight = %d after both requests ended, want 0", got)
	}
}

// TestTakeOverCatchesUpWithPredecessor: the predecessor serves on after its
// successor's first instance set, until the successor replaces it. An
// instance it ejects in that time is ejected in the successor once the
// successor takes over.
func TestTakeOverCatchesUpWithPredecessor(t *testing.T) {
	res := discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}}})
	passive := upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Hour})
	old := upstream.New("svc", res, passive, quiet)
	old.Start(context.Background())
	<-old.Ready()
	next := upstream.New("svc", res, passive, quiet, upstream.WithPredecessor(old))
	next.Start(context.Background())
	defer next.Close()
	<-next.Ready()

	old.Observe(old.Endpoints()[0], true) // still serving: ejects
	next.TakeOver()
	old.Close()
	if got := next.Admitted(); got != 1 {
		t.Fatalf("successor admits %d after taking over, want 1: the predecessor's last ejection was lost", got)
	}
	if ep := next.Endpoints()[0]; !ep.Health.Ejected(time.Now()) {
		t.Fatalf("successor's %s is not ejected", ep.Addr)
	}
}

// TestInheritedEjectionEndsByNewSettings: a rebuilt upstream (a reload that
// changed base_ejection or max_ejection) ends an ejection it inherited when
// its own settings would have, counted from when the ejection began: longer
// if they are longer, shorter if shorter, at once if already past.
func TestInheritedEjectionEndsByNewSettings(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings health.Passive
		want     time.Duration // from the start; 0: readmitted
	}{
		{"longer base", health.Passive{ConsecutiveFailures: 1, BaseEjection: 2 * time.Hour, MaxEjection: 5 * time.Hour}, 2 * time.Hour},
		{"shorter base", health.Passive{ConsecutiveFailures: 1, BaseEjection: 30 * time.Minute, MaxEjection: 5 * time.Hour}, 30 * time.Minute},
		{"shorter cap", health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Hour, MaxEjection: 20 * time.Minute}, 20 * time.Minute},
		{"already over", health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Nanosecond, MaxEjection: time.Nanosecond}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}}})
			old := upstream.New("svc", res, quiet,
				upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 1, BaseEjection: time.Hour, MaxEjection: 5 * time.Hour}))
			old.Start(context.Background())
			defer old.Close()
			<-old.Ready()
			ejected := old.Endpoints()[0]
			old.Observe(ejected, true)
			oldUntil := ejected.Health.EjectedUntil()
			if oldUntil.IsZero() {
				t.Fatal("the old upstream did not eject; the test tests nothing")
			}
			start := oldUntil.Add(-time.Hour)

			next := upstream.New("svc", res, quiet, upstream.WithPassiveHealth(c.settings), upstream.WithPredecessor(old))
			next.Start(context.Background())
			defer next.Close()
			<-next.Ready()
			next.TakeOver()
			old.Close()

			ep := next.Endpoints()[0]
			if c.want == 0 {
				if ep.Health.Ejected(time.Now()) || next.Admitted() != 2 {
					t.Fatalf("ejection under the new settings is over, but the instance is still out until %v (admitted %d)", ep.Health.EjectedUntil(), next.Admitted())
				}
				return
			}
			if got, want := ep.Health.EjectedUntil(), start.Add(c.want); !got.Equal(want) {
				t.Fatalf("inherited ejection ends %v after it began, want %v (the old settings gave 1h)", got.Sub(start), c.want)
			}
			if next.Admitted() != 1 {
				t.Fatalf("admitted = %d, want 1", next.Admitted())
			}
		})
	}
}

// TestInFlightOutcomeCountsTowardSuccessor: a request the predecessor sent
// that ends after the successor took over counts toward the successor's
// passive health for the same instance, whether it failed (the failure run
// grows, and ejects at the threshold) or succeeded (the run ends). An
// instance the successor no longer has is not counted anywhere.
func TestInFlightOutcomeCountsTowardSuccessor(t *testing.T) {
	res := discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}}})
	passive := upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Hour})
	old := upstream.New("svc", res, passive, quiet)
	old.Start(context.Background())
	defer old.Close()
	<-old.Ready()
	inFlight := old.Endpoints()[0]

	// The successor has other retry settings, say, and only the first
	// instance: the second is gone from the service.
	nextRes := discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:3"}}})
	next := upstream.New("svc", nextRes, passive, quiet, upstream.WithPredecessor(old))
	next.Start(context.Background())
	defer next.Close()
	<-next.Ready()
	next.TakeOver()
	old.Close()
	successor := next.Endpoints()[0]
	if successor.Addr != inFlight.Addr {
		t.Fatalf("successor's first endpoint is %s, want %s", successor.Addr, inFlight.Addr)
	}

	old.Observe(inFlight, true)
	if got := successor.Health.ConsecutiveFailures(); got != 1 {
		t.Fatalf("successor's failure run = %d after the predecessor's in-flight request failed, want 1", got)
	}
	old.Observe(inFlight, false)
	if got := successor.Health.ConsecutiveFailures(); got != 0 {
		t.Fatalf("successor's failure run = %d after the predecessor's in-flight request succeeded, want 0", got)
	}
	old.Observe(inFlight, true)
	old.Observe(inFlight, true)
	if !successor.Health.Ejected(time.Now()) || next.Admitted() != 1 {
		t.Fatalf("two failures of the predecessor's requests after the swap did not eject the instance in the successor (admitted %d)", next.Admitted())
	}
	if got := old.Admitted(); got != 2 {
		t.Fatalf("the closed predecessor ejected: admitted %d, want 2", got)
	}

	gone := old.Endpoints()[1] // 127.0.0.1:2, not in the successor
	old.Observe(gone, true)
	old.Observe(gone, true)
	if got := next.Admitted(); got != 1 {
		t.Fatalf("admitted = %d after failures on an instance the successor does not have, want 1", got)
	}
}

// healthBackend is a loopback server whose /healthz answers 200 or 503 as
// set, and which counts the other requests it serves.
type healthBackend struct {
	srv     *httptest.Server
	healthy atomic.Bool
	served  atomic.Int64
}

func newHealthBackend(t *testing.T) *healthBackend {
	t.Helper()
	b := &healthBackend{}
	b.healthy.Store(true)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if !b.healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.served.Add(1)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// messages counts log records by message.
type messages struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n[r.Message]++
	return nil
}
func (m *messages) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *messages) WithGroup(string) slog.Handler      { return m }

func (m *messages) count(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for msg, c := range m.n {
		if strings.HasPrefix(msg, prefix) {
			n += c
		}
	}
	return n
}

// TestPanicThreshold: with a threshold of 50% over four instances that
// active checks take down one by one, the upstream balances over the
// healthy ones while two of four are (50% is not below 50%), and over all
// four, those held down included, once fewer are; it leaves panic when two
// are healthy again. Entering and leaving are each logged once and told to
// the observer. The requests go to the real backends.
func TestPanicThreshold(t *testing.T) {
	var backends []*healthBackend
	var insts []discovery.Instance
	for range 4 {
		b := newHealthBackend(t)
		backends = append(backends, b)
		insts = append(insts, discovery.Instance{Addr: b.srv.Listener.Addr().String()})
	}
	logs := &messages{n: map[string]int{}}
	obs := &counts{}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}),
		upstream.WithPolicy(balance.RoundRobin{}), upstream.WithObserver(obs), upstream.WithLogger(slog.New(logs)),
		upstream.WithActiveHealth(health.Active{Interval: 5 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 1}),
		upstream.WithPanicThreshold(50))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()

	// send makes 8 requests, through Pick, to the backends: round robin
	// gives each instance of the balanced set the same number.
	send := func() (toDown int64) {
		t.Helper()
		before := make([]int64, len(backends))
		for i, b := range backends {
			before[i] = b.served.Load()
		}
		r := httptest.NewRequest("GET", "/", nil)
		for range 8 {
			ep := u.Pick(r)
			if ep == nil {
				t.Fatal("Pick returned nil")
			}
			resp, err := http.Get(ep.BaseURL().String() + "/work")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		for i, b := range backends {
			if !b.healthy.Load() {
				toDown += b.served.Load() - before[i]
			}
		}
		return toDown
	}
	setDown := func(n int) {
		t.Helper()
		for i, b := range backends {
			b.healthy.Store(i >= n)
		}
		waitFor(t, fmt.Sprintf("%d instances admitted", 4-n), func() bool { return u.Admitted() == 4-n })
	}

	setDown(2) // 2 of 4 healthy: 50%, not below
	if u.Panicking() || obs.panicking() {
		t.Fatal("in panic with 50% healthy and a 50% threshold")
	}
	if got := send(); got != 0 {
		t.Fatalf("%d of 8 requests went to instances held down, outside panic", got)
	}

	setDown(3) // 25%: below
	if !u.Panicking() || !obs.panicking() {
		t.Fatal("not in panic with 25% healthy and a 50% threshold")
	}
	if got := send(); got != 6 {
		t.Fatalf("%d of 8 requests went to the 3 instances held down in panic, want 6: all four share them", got)
	}
	setDown(4) // none healthy: requests still reach the instances
	if got := send(); got != 8 {
		t.Fatalf("%d of 8 requests reached instances with all held down, want 8", got)
	}
	// A retry (PickOther) has the others to go to as well.
	first := u.Pick(httptest.NewRequest("GET", "/", nil))
	if other := u.PickOther([]*balance.Endpoint{first}); other == nil || other == first {
		t.Fatalf("PickOther in panic with all held down = %v, want another instance", other)
	}

	setDown(2) // back at 50%: out of panic
	if u.Panicking() || obs.panicking() {
		t.Fatal("still in panic with 50% healthy again")
	}
	if got := send(); got != 0 {
		t.Fatalf("%d of 8 requests went to instances held down after panic", got)
	}
	if in, out := logs.count("upstream in panic"), logs.count("upstream out of panic"); in != 1 || out != 1 {
		t.Fatalf("logged entering panic %d times and leaving %d times, want once each", in, out)
	}
}

// TestNoPanicThreshold: without a threshold an upstream whose instances are
// all held down has none to pick, as before panic mode existed.
func TestNoPanicThreshold(t *testing.T) {
	b := newHealthBackend(t)
	b.healthy.Store(false)
	obs := &counts{}
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": {{Addr: b.srv.Listener.Addr().String()}}}),
		upstream.WithObserver(obs), quiet,
		upstream.WithActiveHealth(health.Active{Interval: 5 * time.Millisecond, UnhealthyThreshold: 1}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	waitFor(t, "the instance held down", func() bool { return u.Admitted() == 0 })
	if u.Pick(httptest.NewRequest("GET", "/", nil)) != nil || u.Panicking() || obs.panicking() {
		t.Fatal("an upstream without a panic threshold picked an instance held down")
	}
}

func TestCheckPanicThreshold(t *testing.T) {
	for _, ok := range []int{0, 1, 50, 100} {
		if err := upstream.CheckPanicThreshold(ok); err != nil {
			t.Errorf("%d refused: %v", ok, err)
		}
	}
	for _, bad := range []int{-1, 101} {
		err := upstream.CheckPanicThreshold(bad)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
			t.Errorf("%d: error %v, want one naming the value", bad, err)
		}
	}
}
