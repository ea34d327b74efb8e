package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Limit is a GCRA (generic cell rate algorithm) limit: Rate requests per
// Period on average, with bursts of up to Burst requests at once. It is a
// token bucket of Burst tokens refilled at Rate per Period, kept as one
// timestamp per key.
type Limit struct {
	Rate   int
	Period time.Duration
	// Burst is the bucket size (default Rate).
	Burst int
}

func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Rate
	}
	return l.Burst
}

// Validate reports a limit that cannot work.
func (l Limit) Validate() error {
	switch {
	case l.Rate <= 0:
		return fmt.Errorf("rate %d must be at least 1", l.Rate)
	case l.Period <= 0:
		return fmt.Errorf("period %v must be positive", l.Period)
	case l.Burst < 0:
		return fmt.Errorf("burst %d must not be negative", l.Burst)
	case l.Period/time.Duration(l.Rate) <= 0:
		return fmt.Errorf("rate %d per %v is finer than a nanosecond", l.Rate, l.Period)
	case int64(l.burst()) > math.MaxInt64/int64(l.Period/time.Duration(l.Rate)):
		// The bucket's depth, burst × emission interval, is a Duration:
		// past 292 years it would overflow (and refuse everything).
		return fmt.Errorf("burst %d at rate %d per %v spans more than 292 years (burst × per / rate): lower the burst", l.burst(), l.Rate, l.Period)
	}
	return nil
}

// Result is a Store's answer for one request.
type Result struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is, for a refused request, when one would be allowed.
	RetryAfter time.Duration
	// ResetAfter is when the bucket is full again (Remaining = Burst).
	ResetAfter time.Duration
}

// Store keeps the rate-limit state of keys. Local keeps it in memory (one
// process); Redis in Redis, shared by every gateway replica.
type Store interface {
	// Allow takes one request for key under l.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// ErrUnavailable is returned by a Store that cannot answer (e.g. Redis is
// unreachable); Policy.FailClosed decides what happens then.
var ErrUnavailable = errors.New("rate limit store unavailable")

// Local is an in-memory Store: exact within one process, and nothing
// across processes — N replicas with a Local limit of R let N×R through.
// The zero value is ready to use.
type Local struct {
	// Now is the clock (default time.Now); for tests.
	Now func() time.Time

	seed   maphash.Seed
	once   sync.Once
	shards [localShards]localShard
}

const (
	localShards = 64
	// sweepEvery bounds how long a key whose bucket is full again stays in
	// memory; sweepSize makes a shard that grows fast sweep sooner.
	sweepEvery = 10 * time.Second
	sweepSize  = 4096
)

type localShard struct {
	mu        sync.Mutex
	tat       map[string]time.Time // theoretical arrival time per key
	lastSweep time.Time
	sizeAtSw  int
}

// Allow implements Store with GCRA, the same algorithm (and arithmetic)
// as the Redis store, so a policy behaves the same in both.
func (s *Local) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	s.once.Do(func() { s.seed = maphash.MakeSeed() })
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	emission := l.Period / time.Duration(l.Rate)
	burstOffset := emission * time.Duration(l.burst())

	sh := &s.shards[maphash.String(s.seed, key)%localShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.tat == nil {
		sh.tat = map[string]time.Time{}
		sh.lastSweep = now
	}
	sh.maybeSweep(now)
	tat, ok := sh.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	// A bucket spent under another limit (a reload raised it) owes at most
	// this limit's full bucket: the spent budget carries over, the old
	// limit's debt does not (an hourly limit raised to a per-second one
	// would refuse for the hour). Under one limit tat never gets further.
	if full := now.Add(burstOffset); tat.After(full) {
		tat = full
		sh.tat[key] = tat // refused or not, the debt is gone
	}
	newTAT := tat.Add(emission)
	diff := now.Sub(newTAT.Add(-burstOffset))
	if diff < 0 {
		return Result{RetryAfter: -diff, ResetAfter: tat.Sub(now)}, nil
	}
	sh.tat[key] = newTAT
	return Result{Allowed: true, Remaining: int(diff / emission), ResetAfter: newTAT.Sub(now)}, nil
}

// maybeSweep drops keys whose bucket is full again: they hold nothing a
// fresh key would not.
func (sh *localShard) maybeSweep(now time.Time) {
	if now.Sub(sh.lastSweep) < sweepEvery && len(sh.tat) < sh.sizeAtSw+sweepSize {
		return
	}
	for k, t := range sh.tat {
		if !t.After(now) {
			delete(sh.tat, k)
		}
	}
	sh.lastSweep, sh.sizeAtSw = now, len(sh.tat)
}

// Len returns how many keys the store holds (for tests and debugging).
func (s *Local) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.tat)
		sh.mu.Unlock()
	}
	return n
}
