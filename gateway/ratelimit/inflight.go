package ratelimit

import "sync"

// InFlight counts the requests in flight per key of a concurrency policy.
// Give the policy one that outlives the middleware (ConcurrencyPolicy.
// Counter) and a reload that rebuilds the middleware keeps counting the
// requests that started before it: the limit holds across reloads.
type InFlight struct {
	mu sync.Mutex
	n  map[string]int
}

// NewInFlight returns an empty counter.
func NewInFlight() *InFlight { return &InFlight{n: map[string]int{}} }

// acquire counts one more request of key unless max are in flight.
func (f *InFlight) acquire(key string, max int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= max {
		return false
	}
	f.n[key]++
	return true
}

func (f *InFlight) release(key string) {
	f.mu.Lock()
	if f.n[key] <= 1 {
		delete(f.n, key)
	} else {
		f.n[key]--
	}
	f.mu.Unlock()
}

// Count returns the requests of key in flight now.
func (f *InFlight) Count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[key]
}
