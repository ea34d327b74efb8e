package health

import (
	"sync/atomic"
	"time"
)

// State is the health of one instance. It is safe for concurrent use; the
// zero value is a healthy, never-ejected instance. In particular a new
// instance is up for active checks (ActiveDown is false) until probes fail
// UnhealthyThreshold times: a fresh instance takes traffic at once rather
// than waiting HealthyThreshold intervals, and passive health covers it
// meanwhile.
type State struct {
	consecutiveFailures atomic.Int32
	ejections           atomic.Int32 // how many times ejected; scales the next ejection
	ejectedUntil        atomic.Int64 // unix nanoseconds; 0 means not ejected
	ejectedAt           atomic.Int64 // unix nanoseconds; when the current (or last) ejection began
	decayFrom           atomic.Int64 // unix nanoseconds; healthy time since then decays ejections
	activeDown          atomic.Bool  // set by active checks
	activeRun           atomic.Int32 // >0: consecutive good probes, <0: consecutive bad
	_                   [0]func()    // not comparable
}

// Ejected reports whether passive health has ejected the instance at now.
func (s *State) Ejected(now time.Time) bool {
	u := s.ejectedUntil.Load()
	return u != 0 && now.UnixNano() < u
}

// EjectedUntil returns when the current ejection ends (zero if none).
func (s *State) EjectedUntil() time.Time {
	u := s.ejectedUntil.Load()
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, u)
}

// ActiveDown reports whether active checks hold the instance down.
func (s *State) ActiveDown() bool { return s.activeDown.Load() }

// Available reports whether the instance may receive new requests at now.
func (s *State) Available(now time.Time) bool {
	return !s.ActiveDown() && !s.Ejected(now)
}

// ConsecutiveFailures returns the current run of failures seen by passive
// health.
func (s *State) ConsecutiveFailures() int { return int(s.consecutiveFailures.Load()) }

// Ejections returns how many ejections currently count toward the length of
// the next one (see Passive).
func (s *State) Ejections() int { return int(s.ejections.Load()) }

// Readmit ends the current ejection, if any, and starts a new failure run.
// The ejection count is kept, so a relapse is ejected for longer. It is
// meant for the timer set to the time Passive.Eject returned, but is safe to
// call at any time.
func (s *State) Readmit() {
	s.ejectedUntil.Store(0)
	// Failures of requests that were in flight when the instance was
	// ejected must not count toward the next ejection.
	s.consecutiveFailures.Store(0)
}

// Inherit makes s what prev is: the failure run, the ejection in force and
// the ejection count, and the active checks' verdict. It is for a new State
// that stands for the same instance as prev (its attributes changed, not
// its address), before s is in use; prev is only read.
func (s *State) Inherit(prev *State) {
	s.consecutiveFailures.Store(prev.consecutiveFailures.Load())
	s.ejections.Store(prev.ejections.Load())
	s.ejectedUntil.Store(prev.ejectedUntil.Load())
	s.ejectedAt.Store(prev.ejectedAt.Load())
	s.decayFrom.Store(prev.decayFrom.Load())
	s.activeDown.Store(prev.activeDown.Load())
	s.activeRun.Store(prev.activeRun.Load())
}

// ForgetPassive drops what passive health recorded: the failure run, the
// ejection in force and the ejection count. It is for a State that Inherit
// filled for an upstream without passive health, where nothing would end
// the ejection.
func (s *State) ForgetPassive() {
	s.consecutiveFailures.Store(0)
	s.ejections.Store(0)
	s.ejectedUntil.Store(0)
	s.ejectedAt.Store(0)
	s.decayFrom.Store(0)
}

// ForgetActive drops the active checks' verdict and probe run: the instance
// is up, as a new one is. It is for a State that Inherit filled for an
// upstream without active checks, where no probe would bring it back.
func (s *State) ForgetActive() {
	s.activeDown.Store(false)
	s.activeRun.Store(0)
}
