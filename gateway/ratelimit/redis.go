package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

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
// autoscaler runs. Each request is one round trip: a Lua script (GCRA, as
// go-redis/redis_rate's, whose key names it keeps) that reads and updates
// one key atomically, using Redis's clock so the replicas' clocks do not
// matter.
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
	s.once.Do(func() { s.ctxBound = honoursDeadline(s.Client) })
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
	res, err := s.allow(ctx, prefix+key, l)
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
	return res, nil
}

// gcra is go-redis/redis_rate's GCRA script (allowN, cost 1) with one
// change: a bucket further behind than this limit's full bucket (spent
// under another limit, before a reload raised it) is brought back to it,
// as the Local store does, so the old limit's debt is not owed under the
// new one. Times are seconds since 2017, from Redis's clock.
var gcra = redis.NewScript(`
redis.replicate_commands()

local key = KEYS[1]
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])

local emission_interval = period / rate
local burst_offset = emission_interval * burst

local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)

local tat = redis.call("GET", key)
if not tat then
  tat = now
else
  tat = math.max(tonumber(tat), now)
end
if tat > now + burst_offset then
  tat = now + burst_offset
  redis.call("SET", key, tat, "EX", math.ceil(burst_offset))
end

local new_tat = tat + emission_interval
local diff = now - (new_tat - burst_offset)
if diff < 0 then
  return {0, 0, tostring(-diff), tostring(tat - now)}
end

local reset_after = new_tat - now
redis.call("SET", key, new_tat, "EX", math.ceil(reset_after))
return {1, diff / emission_interval, "-1", tostring(reset_after)}
`)

// allow runs the script, returning by ctx's deadline. With a client that
// ignores the deadline the call runs in a goroutine left to finish on its
// own: the backoff that follows a failure keeps such calls few.
func (s *Redis) allow(ctx context.Context, key string, l Limit) (Result, error) {
	if s.ctxBound {
		return s.run(ctx, key, l)
	}
	type answer struct {
		res Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := s.run(ctx, key, l)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// run makes the one round trip. The key is named as redis_rate named it,
// so buckets carry over from versions that used it.
func (s *Redis) run(ctx context.Context, key string, l Limit) (Result, error) {
	v, err := gcra.Run(ctx, s.Client, []string{"rate:" + key}, l.burst(), l.Rate, l.Period.Seconds()).Slice()
	if err != nil {
		return Result{}, err
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("rate limit script: %d values, want 4", len(v))
	}
	allowed, ok1 := v[0].(int64)
	remaining, ok2 := v[1].(int64)
	retryS, ok3 := v[2].(string)
	resetS, ok4 := v[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Result{}, fmt.Errorf("rate limit script: unexpected answer %v", v)
	}
	retry, err1 := strconv.ParseFloat(retryS, 64)
	reset, err2 := strconv.ParseFloat(resetS, 64)
	if err1 != nil || err2 != nil {
		return Result{}, fmt.Errorf("rate limit script: unexpected answer %v", v)
	}
	out := Result{Allowed: allowed == 1, Remaining: int(remaining), ResetAfter: max(seconds(reset), 0)}
	if !out.Allowed {
		out.RetryAfter = max(seconds(retry), 0)
	}
	return out, nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
