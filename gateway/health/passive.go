package health

import (
	"math"
	"time"
)

// Defaults for Passive.
const (
	DefaultConsecutiveFailures = 5
	DefaultBaseEjection        = 30 * time.Second
	DefaultMaxEjection         = 5 * time.Minute
	DefaultMaxEjectionPercent  = 50
)

// Passive configures outlier ejection from real traffic. The zero value uses
// the defaults.
//
// The caller reports every finished request with Observe. When Observe says
// an instance should go, the caller checks MayEject against the whole
// upstream (so a bad deploy cannot eject everything), then calls Eject and
// arranges for State.Readmit at the time Eject returns.
//
// The n-th ejection lasts BaseEjection × n, capped at MaxEjection. The count
// decays: when a success is observed, every whole BaseEjection that has
// passed since the last ejection ended takes one ejection off the count. So
// an instance that recovered for good returns to short ejections, while one
// that relapses soon after re-admission is kept out longer each time.
type Passive struct {
	// ConsecutiveFailures is the failure run that triggers ejection
	// (default 5).
	ConsecutiveFailures int
	// BaseEjection is the length of the first ejection (default 30s).
	BaseEjection time.Duration
	// MaxEjection caps the length of any ejection (default 5m).
	MaxEjection time.Duration
	// MaxEjectionPercent is the largest share of an upstream's instances
	// that may be ejected at once (default 50; values above 100 mean 100; a
	// negative value disables ejection).
	MaxEjectionPercent int
}

func (p Passive) threshold() int32 {
	if p.ConsecutiveFailures <= 0 {
		return DefaultConsecutiveFailures
	}
	return int32(min(p.ConsecutiveFailures, math.MaxInt32/2))
}

func (p Passive) base() time.Duration {
	if p.BaseEjection <= 0 {
		return DefaultBaseEjection
	}
	return p.BaseEjection
}

func (p Passive) maxEjection() time.Duration {
	if p.MaxEjection <= 0 {
		return DefaultMaxEjection
	}
	return p.MaxEjection
}

// Observe records the outcome of one request to the instance s at now and
// reports whether the instance has just reached the failure threshold
// while not ejected. It does not eject: see MayEject and Eject. A success
// ends the failure run (and may decay the ejection count, see Passive).
//
// Every further failure at or past the threshold reports true again, so an
// ejection that MayEject refused is retried on the next failure.
func (p Passive) Observe(s *State, failed bool, now time.Time) (eject bool) {
	if !failed {
		// Load first: successes are the common case and a plain read keeps
		// the cache line shared between cores.
		if s.consecutiveFailures.Load() != 0 {
			s.consecutiveFailures.Store(0)
		}
		p.decay(s, now)
		return false
	}
	run := s.consecutiveFailures.Add(1)
	if run >= math.MaxInt32/2 { // a refused ejection can keep the run growing
		s.consecutiveFailures.Store(p.threshold())
	}
	return run >= p.threshold() && !s.Ejected(now)
}

// decay takes one ejection off the count for each whole BaseEjection that
// has passed since the last ejection ended (or since the last decay step).
func (p Passive) decay(s *State, now time.Time) {
	if s.ejections.Load() == 0 {
		return
	}
	base := int64(p.base())
	from := s.decayFrom.Load()
	// decayFrom is the end of the last ejection, so nothing decays while the
	// instance is still ejected.
	steps := (now.UnixNano() - from) / base
	if steps <= 0 {
		return
	}
	if !s.decayFrom.CompareAndSwap(from, from+steps*base) {
		return // a concurrent success took these steps
	}
	for {
		n := s.ejections.Load()
		if n == 0 || s.ejections.CompareAndSwap(n, int32(max(int64(n)-steps, 0))) {
			return
		}
	}
}

// MayEject reports whether one more instance may be ejected from an
// upstream of total instances of which ejected are already out: only if
// afterwards at most MaxEjectionPercent of them are. With the default 50%
// a lone instance is never ejected and of two only one may be: sending
// traffic to a failing instance beats failing every request outright (as in
// Envoy's outlier detection).
func (p Passive) MayEject(ejected, total int) bool {
	pct := p.MaxEjectionPercent
	switch {
	case pct == 0:
		pct = DefaultMaxEjectionPercent
	case pct < 0:
		return false
	case pct > 100:
		pct = 100
	}
	return total > 0 && ejected >= 0 && (ejected+1)*100 <= pct*total
}

// Eject ejects s at now for BaseEjection × (its ejection count including
// this one), capped at MaxEjection, resets its failure run and returns the
// time it should be re-admitted. If s is already ejected it returns the
// current end unchanged, so concurrent callers that all saw Observe return
// true eject once.
func (p Passive) Eject(s *State, now time.Time) time.Time {
	for {
		old := s.ejectedUntil.Load()
		if old != 0 && now.UnixNano() < old {
			return time.Unix(0, old)
		}
		n := min(s.ejections.Load()+1, p.maxCount())
		until := now.Add(p.length(n)).UnixNano()
		if s.ejectedUntil.CompareAndSwap(old, until) {
			s.ejectedAt.Store(now.UnixNano())
			s.ejections.Store(n)
			s.decayFrom.Store(until)
			s.consecutiveFailures.Store(0)
			return time.Unix(0, until)
		}
	}
}

// maxCount is the most ejections worth counting: counting past the cap
// would only make decay slower without making ejections longer.
func (p Passive) maxCount() int32 {
	base, maxDur := p.base(), p.maxEjection()
	return int32(min((maxDur+base-1)/base, math.MaxInt32))
}

// length is how long the n-th ejection lasts.
func (p Passive) length(n int32) time.Duration {
	base, maxDur := p.base(), p.maxEjection()
	if time.Duration(n) <= maxDur/base {
		return base * time.Duration(n)
	}
	return maxDur
}

// Reschedule makes the ejection in force on s at now end when p would have
// ended it: BaseEjection × its ejection count, capped at MaxEjection,
// measured from when it began. It returns the new end, which may be now or
// earlier (the ejection is then over: call State.Readmit), or the zero
// time if s is not ejected at now. It is for a State that Inherit filled
// from an upstream with other settings, so that an ejection ends by the
// settings in force rather than by those that are gone.
func (p Passive) Reschedule(s *State, now time.Time) time.Time {
	for {
		old := s.ejectedUntil.Load()
		if old == 0 || now.UnixNano() >= old {
			return time.Time{}
		}
		start := s.ejectedAt.Load()
		if start == 0 {
			return time.Unix(0, old) // not known when it began: left as it is
		}
		n := min(max(s.ejections.Load(), 1), p.maxCount())
		until := time.Unix(0, start).Add(p.length(n)).UnixNano()
		if s.ejectedUntil.CompareAndSwap(old, until) {
			s.ejections.Store(n)
			s.decayFrom.Store(until)
			return time.Unix(0, until)
		}
	}
}
