package cache

import (
	"sync"
	"time"
)

// flights coalesces concurrent misses: the first request for a key leads
// (fetches), the others wait for its answer.
//
// It plays the part of golang.org/x/sync/singleflight, which does not fit
// here: singleflight.Do keeps every waiter until the call returns, even
// one whose client went away, and DoChan runs the call on a goroutine of
// its own, detached from the leader's ResponseWriter that the answer
// streams into. Here the leader fetches on its own goroutine, streaming to
// its client, and each waiter can stop waiting when its client leaves
// without touching the shared call.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one fetch in progress. Its result fields are written by the
// leader before done is closed and only read after.
type flight struct {
	done    chan struct{}
	started time.Time // wall clock: how long it has taken
	// obj is the stored answer, nil if it could not be stored (and so may
	// not be given to other clients); vary is its node's Vary names.
	obj  *object
	vary []string
	// failed: the upstream failed (5xx, no answer, or a broken-off body).
	failed bool

	// Who still wants the answer, under flights.mu: the waiters, and
	// whether the leader's client is gone. A leader's upstream call
	// outlives its client only for waiters; abandon (set by the leader)
	// ends it once nobody wants it.
	waiters    int
	leaderGone bool
	abandon    func()
}

// join returns the flight in progress for key, or starts one and returns
// leader true. A leader must call finish. A flight whose leader's client
// is gone, or that has taken longer than maxAge, is not joined — a new one
// replaces it — since its call may be one that hangs: its waiters would
// never run out under steady traffic, and the key would stay dead while
// the upstream answers new calls.
func (g *flights) join(key string, maxAge time.Duration) (f *flight, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok && !f.leaderGone && time.Since(f.started) < maxAge {
		f.waiters++
		return f, false
	}
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f = &flight{done: make(chan struct{}), started: time.Now()}
	g.m[key] = f
	return f, true
}

// finish publishes f's result to its waiters. Requests arriving after it
// find the answer in the store, or start a new flight.
func (g *flights) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(f.done)
}

func (f *flight) unwanted() bool { return f.leaderGone && f.waiters == 0 && f.abandon != nil }

// leave records that a waiter stopped waiting (its client went away).
func (g *flights) leave(f *flight) {
	g.mu.Lock()
	f.waiters--
	abandon := f.unwanted()
	g.mu.Unlock()
	if abandon {
		f.abandon()
	}
}

// leaderLeft records that the leader's client went away; abandon ends
// the leader's upstream call when nobody waits for it.
func (g *flights) leaderLeft(f *flight, abandon func()) {
	g.mu.Lock()
	f.leaderGone, f.abandon = true, abandon
	now := f.unwanted()
	g.mu.Unlock()
	if now {
		abandon()
	}
}
