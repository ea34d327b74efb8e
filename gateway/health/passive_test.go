package health_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/health"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fail observes n failures at now and returns the last verdict.
func fail(p health.Passive, s *health.State, n int, now time.Time) (eject bool) {
	for range n {
		eject = p.Observe(s, true, now)
	}
	return eject
}

func TestPassiveThreshold(t *testing.T) {
	var p health.Passive // defaults: 5 failures
	var s health.State
	if fail(p, &s, 4, t0) {
		t.Fatal("eject after 4 failures, want 5")
	}
	if p.Observe(&s, false, t0) {
		t.Fatal("a success reported eject")
	}
	if s.ConsecutiveFailures() != 0 {
		t.Fatalf("run after success = %d, want 0", s.ConsecutiveFailures())
	}
	if fail(p, &s, 4, t0) {
		t.Fatal("eject after a success and 4 failures: the run must restart")
	}
	if !p.Observe(&s, true, t0) {
		t.Fatal("no eject after 5 failures in a row")
	}
	if s.Ejected(t0) || !s.Available(t0) {
		t.Fatal("Observe ejected by itself; only Eject may")
	}
	// Refused by MayEject: the next failure asks again.
	if !p.Observe(&s, true, t0) {
		t.Fatal("no eject on the failure after a refused ejection")
	}

	custom := health.Passive{ConsecutiveFailures: 2}
	var c health.State
	if fail(custom, &c, 1, t0) || !fail(custom, &c, 1, t0) {
		t.Error("ConsecutiveFailures 2 not honoured")
	}
}

func TestPassiveEjectionGrowsAndCaps(t *testing.T) {
	p := health.Passive{BaseEjection: 10 * time.Second, MaxEjection: 35 * time.Second}
	var s health.State
	now := t0
	for i, want := range []time.Duration{10, 20, 30, 35, 35} {
		want *= time.Second
		if !fail(p, &s, 5, now) {
			t.Fatalf("ejection %d: threshold not reported", i+1)
		}
		until := p.Eject(&s, now)
		if got := until.Sub(now); got != want {
			t.Fatalf("ejection %d lasts %v, want %v", i+1, got, want)
		}
		if !s.Ejected(now) || s.Ejected(until) || !s.EjectedUntil().Equal(until) {
			t.Fatalf("ejection %d: Ejected/EjectedUntil disagree with %v", i+1, until)
		}
		if s.Available(now) {
			t.Fatalf("ejection %d: still available", i+1)
		}
		if s.ConsecutiveFailures() != 0 {
			t.Fatalf("ejection %d: run not reset", i+1)
		}
		// While ejected, late failures do not ask to eject again.
		if fail(p, &s, 5, now.Add(time.Second)) {
			t.Fatalf("ejection %d: eject reported while ejected", i+1)
		}
		now = until
		s.Readmit()
		if s.Ejected(now) || !s.Available(now) || s.ConsecutiveFailures() != 0 {
			t.Fatalf("ejection %d: Readmit did not re-admit cleanly", i+1)
		}
	}
	// The count stops at the cap (35s/10s → 4) so that decay is not slowed.
	if s.Ejections() != 4 {
		t.Errorf("Ejections = %d, want capped at 4", s.Ejections())
	}
}

func TestPassiveEjectIsIdempotentWhileEjected(t *testing.T) {
	var p health.Passive
	var s health.State
	fail(p, &s, 5, t0)
	var wg sync.WaitGroup
	var untils sync.Map
	for range 8 { // concurrent callers that all saw eject=true
		wg.Go(func() { untils.Store(p.Eject(&s, t0), true) })
	}
	wg.Wait()
	n := 0
	untils.Range(func(any, any) bool { n++; return true })
	if n != 1 || s.Ejections() != 1 {
		t.Errorf("8 concurrent Ejects gave %d distinct ends and %d ejections, want 1 and 1", n, s.Ejections())
	}
	if got := s.EjectedUntil().Sub(t0); got != health.DefaultBaseEjection {
		t.Errorf("first ejection lasts %v, want %v", got, health.DefaultBaseEjection)
	}
}

func TestPassiveDecay(t *testing.T) {
	p := health.Passive{BaseEjection: 10 * time.Second}
	var s health.State
	now := t0
	for range 3 {
		fail(p, &s, 5, now)
		now = p.Eject(&s, now)
		s.Readmit()
	}
	if s.Ejections() != 3 {
		t.Fatalf("Ejections = %d, want 3", s.Ejections())
	}
	p.Observe(&s, false, now.Add(9*time.Second))
	if s.Ejections() != 3 {
		t.Fatalf("decayed after 9s < BaseEjection: %d", s.Ejections())
	}
	p.Observe(&s, false, now.Add(25*time.Second)) // two whole intervals
	if s.Ejections() != 1 {
		t.Fatalf("Ejections after 25s healthy = %d, want 1", s.Ejections())
	}
	// The half interval left over still counts toward the next step.
	p.Observe(&s, false, now.Add(30*time.Second))
	if s.Ejections() != 0 {
		t.Fatalf("Ejections after 30s healthy = %d, want 0", s.Ejections())
	}
	fail(p, &s, 5, now.Add(time.Minute))
	if d := p.Eject(&s, now.Add(time.Minute)).Sub(now.Add(time.Minute)); d != 10*time.Second {
		t.Errorf("ejection after full decay lasts %v, want the base 10s", d)
	}
}

func TestPassiveMayEject(t *testing.T) {
	cases := []struct {
		pct, ejected, total int
		want                bool
	}{
		{0, 0, 1, false}, // default 50%: a lone instance stays
		{0, 0, 2, true},
		{0, 1, 2, false},
		{0, 1, 4, true},
		{0, 2, 4, false},
		{0, 2, 5, false}, // 3 of 5 is 60%
		{0, 0, 0, false},
		{100, 0, 1, true},
		{100, 2, 3, true},
		{100, 3, 3, false},
		{150, 0, 1, true},
		{10, 0, 9, false}, // 1 of 9 is 11%
		{10, 0, 10, true},
		{-1, 0, 100, false}, // disabled
	}
	for _, c := range cases {
		p := health.Passive{MaxEjectionPercent: c.pct}
		if got := p.MayEject(c.ejected, c.total); got != c.want {
			t.Errorf("MaxEjectionPercent %d: MayEject(%d, %d) = %v, want %v", c.pct, c.ejected, c.total, got, c.want)
		}
	}
}

func TestPassiveConcurrentObserve(t *testing.T) {
	p := health.Passive{ConsecutiveFailures: 1000}
	var s health.State
	var asked atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				if p.Observe(&s, true, t0) {
					asked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// 2000 failures, threshold 1000: the 1000th to the 2000th ask.
	if s.ConsecutiveFailures() != 2000 || asked.Load() != 1001 {
		t.Errorf("run %d, eject asked %d times; want 2000 and 1001", s.ConsecutiveFailures(), asked.Load())
	}
}

// TestReschedule: an inherited ejection is given the length of the new
// settings for its count (the second ejection here), from when it began;
// an ejection already over, or none, is left alone.
func TestReschedule(t *testing.T) {
	oldP := health.Passive{BaseEjection: time.Minute, MaxEjection: time.Hour}
	var prev health.State
	oldP.Eject(&prev, t0)
	prev.Readmit()
	oldP.Eject(&prev, t0.Add(10*time.Minute)) // the second: 2m, until t0+12m

	var s health.State
	s.Inherit(&prev)
	newP := health.Passive{BaseEjection: 5 * time.Minute, MaxEjection: time.Hour}
	if got, want := newP.Reschedule(&s, t0.Add(11*time.Minute)), t0.Add(20*time.Minute); !got.Equal(want) {
		t.Fatalf("Reschedule = %v, want %v (10m, from the start at t0+10m)", got, want)
	}
	if got := s.EjectedUntil(); !got.Equal(t0.Add(20 * time.Minute)) {
		t.Fatalf("EjectedUntil = %v after Reschedule", got)
	}
	if !prev.EjectedUntil().Equal(t0.Add(12 * time.Minute)) {
		t.Fatal("Reschedule changed the State it was inherited from")
	}

	var over health.State
	over.Inherit(&prev)
	if got := newP.Reschedule(&over, t0.Add(13*time.Minute)); !got.IsZero() {
		t.Fatalf("Reschedule of an ejection over at now = %v, want zero: it must not start again", got)
	}
	var none health.State
	if got := newP.Reschedule(&none, t0); !got.IsZero() || none.Ejected(t0) {
		t.Fatalf("Reschedule of a State never ejected = %v", got)
	}
}
