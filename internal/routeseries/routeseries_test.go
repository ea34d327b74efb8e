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
