package routeseries

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Users entering and exiting while the route is forgotten: the series are
// deleted exactly once, and never while someone holds an entry.
func TestForgetWhileEntering(t *testing.T) {
	var deleted, deletions, recordedAfter atomic.Int64
	s := New(func(string) struct{} { return struct{}{} }, func(string) {
		deletions.Add(1)
		deleted.Store(1)
	})
	born := s.Born()
	var wg sync.WaitGroup
	var entered atomic.Int64
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 2000 {
				rt := s.Enter("r", born)
				if rt == nil {
					continue
				}
				entered.Add(1)
				if deleted.Load() != 0 {
					recordedAfter.Add(1)
				}
				s.Exit(rt)
			}
		}()
	}
	close(start)
	for entered.Load() < 100 { // some users in first
		runtime.Gosched()
	}
	s.Forget("r")
	wg.Wait()
	if n := deletions.Load(); n != 1 {
		t.Errorf("series deleted %d times, want 1", n)
	}
	if n := recordedAfter.Load(); n != 0 {
		t.Errorf("%d users held an entry after the series were deleted", n)
	}
	if rt := s.Enter("r", born); rt != nil {
		t.Error("an old user entered a gone route")
	}
	if rt := s.Enter("r", s.Born()); rt == nil {
		t.Error("a user built after the removal could not enter the route added again")
	} else {
		s.Exit(rt)
	}
	if n := deletions.Load(); n != 1 {
		t.Errorf("series deleted %d times after the route came back, want 1", n)
	}
}

// born reports whether the Birth of epoch has not been collected.
func (s *Set[T]) born(epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.births[epoch]
}

// collect runs the garbage collector until stays is false, at most 100
// times.
func collect(t *testing.T, what string, stays func() bool) {
	t.Helper()
	for gcs := 0; stays(); gcs++ {
		if gcs == 100 {
			t.Fatalf("%s stayed after 100 collections", what)
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// tombstone reports whether route's entry is a tombstone.
func (s *Set[T]) tombstone(route string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.routes.Load(route)
	return ok && rt.state.Load()&3 == gone && s.tombs[route]
}

// A gone route's tombstone stays while a handler built before the removal
// can still run (its Birth is reachable), and goes once none can.
func TestTombstoneGoesWithTheOldHandlers(t *testing.T) {
	s := New(func(string) struct{} { return struct{}{} }, func(string) {})
	old := s.Born() // a handler of the table that has the route
	s.Exit(s.Enter("r", old))
	s.Forget("r") // no user: gone at once
	s.Born()      // a table built and dropped: its Birth is collected
	s.Forget("x")
	kept := s.Born() // a handler of the newest table, for another route
	collect(t, "the dropped table's Birth", func() bool { return s.born(1) })
	if !s.tombstone("r") {
		t.Fatal("the tombstone went while a handler of the old table can still run")
	}
	if s.Enter("r", old) != nil {
		t.Fatal("a handler of the old table entered the gone route")
	}
	runtime.KeepAlive(old) // from here no handler of the old table is left
	collect(t, "the tombstone, with no handler of the old table left,", func() bool { return s.tombstone("r") })
	if _, ok := s.routes.Load("r"); ok {
		t.Error("the route's entry stayed in the set")
	}
	// A handler built after the removal records into the route added again.
	rt := s.Enter("r", kept)
	if rt == nil {
		t.Fatal("a handler of the new table could not enter the route added again")
	}
	s.Exit(rt)
}

// Tables built and dropped while a handler of an old one keeps recording:
// the cleanups that run meanwhile never let it into the gone route.
func TestOldHandlerKeptOutWhileTablesCome(t *testing.T) {
	s := New(func(string) struct{} { return struct{}{} }, func(string) {})
	old := s.Born()
	s.Forget("r")
	done := make(chan struct{})
	var churned atomic.Int64
	go func() {
		defer close(done)
		for i := range 200 { // a table built, a route removed, the table dropped
			s.Born()
			s.Forget("x" + string(rune('a'+i%26)))
			if i%20 == 0 {
				runtime.GC()
			}
			churned.Add(1)
		}
	}()
	entered := 0
	for churned.Load() < 200 {
		if rt := s.Enter("r", old); rt != nil {
			entered++
			s.Exit(rt)
		}
	}
	<-done
	runtime.GC()
	if rt := s.Enter("r", old); rt != nil {
		entered++
	}
	runtime.KeepAlive(old)
	if entered != 0 {
		t.Errorf("a handler of the old table entered the gone route %d times", entered)
	}
}
