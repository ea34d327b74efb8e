package health

import (
	"sync/atomic"
	"time"
)

// State is the health of one instance. It is safe for concurrent use; the
// zero value is a healthy, never-ejected instance.
type State struct {
	consecutiveFailures atomic.Int32
	ejections           atomic.Int32 // how many times ejected; scales the next ejection
	ejectedUntil        atomic.Int64 // unix nanoseconds; 0 means not ejected
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
