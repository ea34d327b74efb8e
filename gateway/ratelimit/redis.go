package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Defaults of Redis.
const (
	DefaultRedisPrefix  = "gatescale:rl:"
	DefaultRedisTimeout = 100 * time.Millisecond
	DefaultRedisBackoff = time.Second
)

// Redis is a Store in Redis, shared by every gateway replica that uses
// the same Redis, so a cluster-wide limit holds however many replicas the
// autoscaler runs. Each request is one round trip: a Lua script (GCRA, from
// go-redis/redis_rate) that reads and updates one key atomically, using
// Redis's clock so the replicas' clocks do not matter.
//
// When Redis fails or is slower than Timeout, Allow returns an error
// wrapping ErrUnavailable, and for Backoff afterwards returns it at once
// without trying, so an outage costs requests no latency; the policy then
// fails open or closed (Policy.FailClosed).
type Redis struct {
	// Client is the Redis client (redis.NewClient, NewClusterClient...).
	// Required.
	Client redis.UniversalClient
	// Prefix is put before every key (default "gatescale:rl:").
	Prefix string
	// Timeout bounds one call (default 100ms), whatever the client's own
	// timeouts. A client made with ContextTimeoutEnabled lets the call
	// itself end there; with others the request stops waiting but the call
	// runs on until the client gives up.
	Timeout time.Duration
	// Backoff is how long calls are skipped after a failure (default 1s).
	Backoff time.Duration

	once      sync.Once
	limiter   *redis_rate.Limiter
	ctxBound  bool // the client ends a call at its context's deadline
	mu        sync.Mutex
	downUntil time.Time
}

// honoursDeadline reports whether c ends a call when its context's
// deadline passes. go-redis clients only do with ContextTimeoutEnabled
// (redis.NewClient's default is off: they wait for their own read
// timeout, 3 s by default, or forever); unknown clients are assumed not to.
func honoursDeadline(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Allow implements Store.
func (s *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	s.once.Do(func() {
		s.limiter = redis_rate.NewLimiter(s.Client)
		s.ctxBound = honoursDeadline(s.Client)
	})
	s.mu.Lock()
	backingOff := time.Now().Before(s.downUntil)
	s.mu.Unlock()
	if backingOff {
		return Result{}, fmt.Errorf("%w: backing off after a failure", ErrUnavailable)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	prefix := s.Prefix
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	res, err := s.allow(ctx, prefix+key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.burst()})
	if err != nil {
		backoff := s.Backoff
		if backoff <= 0 {
			backoff = DefaultRedisBackoff
		}
		s.mu.Lock()
		s.downUntil = time.Now().Add(backoff)
		s.mu.Unlock()
		return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out := Result{Allowed: res.Allowed > 0, Remaining: res.Remaining, ResetAfter: max(res.ResetAfter, 0)}
	if !out.Allowed {
		out.RetryAfter = max(res.RetryAfter, 0)
	}
	return out, nil
}

// allow runs the limiter's script, returning by ctx's deadline. With a
// client that ignores the deadline the call runs in a goroutine left to
// finish on its own: the backoff that follows a failure keeps such calls
// few.
func (s *Redis) allow(ctx context.Context, key string, l redis_rate.Limit) (*redis_rate.Result, error) {
	if s.ctxBound {
		return s.limiter.Allow(ctx, key, l)
	}
	type answer struct {
		res *redis_rate.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := s.limiter.Allow(ctx, key, l)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
