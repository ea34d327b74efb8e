package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Policy is one rate limit of a route.
type Policy struct {
	// Name identifies the policy in metrics, logs and the RateLimit
	// headers, and names its buckets: two policies with one name share
	// buckets. Required.
	Name string
	Limit
	// Key picks the bucket per request (nil: one bucket for the policy).
	Key KeyFunc
	// Store keeps the buckets (nil: an in-memory Local store of the
	// middleware's own).
	Store Store
	// FailClosed refuses requests (503) while the store is unavailable;
	// by default they are let through (fail open), since a rate limiter
	// being down should not take the API down with it.
	FailClosed bool
}

// Option configures Middleware and Concurrency.
type Option func(*options)

type options struct {
	metrics *Metrics
	logger  *slog.Logger
	born    *routeseries.Birth // the metrics epoch the middleware was wrapped at
}

// WithMetrics counts rejections and store errors in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithLogger sets the logger for store failures and recoveries (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

func newOptions(opts []Option) options {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// policyState is a policy with what the middleware keeps about it.
type policyState struct {
	Policy
	failing *atomic.Bool // the store failed last time: log the recovery
	header  string       // its RateLimit-Policy item
	quoted  string       // its name as a RateLimit item begins
	bucket  string       // its bucket's key prefix, Name + "|"
}

// Middleware enforces policies, in order, on every request: the first
// policy that refuses answers 429 with Retry-After and a problem+json
// body (later policies are not charged). Every answer carries the IETF
// RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-
// headers) for each policy:
//
//	RateLimit-Policy: "per-consumer";q=100;w=60
//	RateLimit: "per-consumer";r=42;t=18
//
// q requests per w seconds; r remaining now; t seconds until the bucket is
// full again.
//
// It panics if a policy is invalid (see Limit.Validate), as a router does
// for a bad pattern: that is a programming error, found at start-up.
func Middleware(policies []Policy, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(opts)
	states, policyValues := compile(policies)
	return func(next http.Handler) http.Handler {
		o := o
		o.born = o.metrics.born() // wrapped when a route table is built
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.enforce(w, r, states, policyValues) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// compile validates policies (panicking on an invalid one) and returns
// their states and RateLimit-Policy value, as a one-element full slice
// that requests share: set as a header's values it is never appended to
// in place (a second value reallocates), so no request allocates one.
func compile(policies []Policy) ([]*policyState, []string) {
	states := make([]*policyState, len(policies))
	var policyHeader []string
	for i, p := range policies {
		if err := p.Limit.Validate(); err != nil || p.Name == "" {
			panic(fmt.Sprintf("ratelimit: policy %d (%q): invalid: %v", i, p.Name, err))
		}
		if p.Store == nil {
			p.Store = &Local{}
		}
		st := &policyState{Policy: p, quoted: strconv.Quote(p.Name), bucket: p.Name + "|", failing: new(atomic.Bool)}
		st.header = fmt.Sprintf("%s;q=%d;w=%d", st.quoted, p.Rate, ceilSeconds(p.Period))
		policyHeader = append(policyHeader, st.header)
		states[i] = st
	}
	v := []string{strings.Join(policyHeader, ", ")}
	return states, v[:1:1]
}

// enforce charges each policy in turn and reports whether the request may
// go on; when not, it has answered (429, or 503 failing closed).
func (o *options) enforce(w http.ResponseWriter, r *http.Request, states []*policyState, policyValues []string) bool {
	// The RateLimit value is built in place: fmt and a slice of items
	// were a third of the limiter's time on an allowed request.
	var buf [128]byte
	items := buf[:0]
	for _, st := range states {
		key := st.bucket
		if st.Key != nil {
			key += st.Key(r)
		}
		res, err := st.Store.Allow(r.Context(), key, st.Limit)
		if err != nil {
			if o.storeFailed(w, r, st, err) {
				return false // failed closed
			}
			continue // failed open: no headers for this policy
		}
		if st.failing.CompareAndSwap(true, false) {
			o.logger.Info("rate limit store reachable again", "policy", st.Name)
		}
		if len(items) > 0 {
			items = append(items, ", "...)
		}
		items = append(items, st.quoted...)
		items = append(items, ";r="...)
		items = strconv.AppendInt(items, int64(res.Remaining), 10)
		items = append(items, ";t="...)
		items = strconv.AppendInt(items, int64(ceilSeconds(res.ResetAfter)), 10)
		if !res.Allowed {
			h := w.Header()
			addShared(h, headerRateLimitPolicy, policyValues)
			h[headerRateLimit] = append(h[headerRateLimit], string(items))
			retry := max(ceilSeconds(res.RetryAfter), 1)
			h.Set("Retry-After", strconv.Itoa(retry))
			o.reject(w, r, st.Name, fmt.Sprintf("rate limit %q of %d requests per %v exceeded; retry in %d s", st.Name, st.Rate, st.Period, retry))
			return false
		}
	}
	h := w.Header()
	// Added to, not set: another Middleware on the route (e.g. limits
	// before and after authentication) adds its own policies, and the
	// fields are lists.
	addShared(h, headerRateLimitPolicy, policyValues)
	if len(items) > 0 {
		h[headerRateLimit] = append(h[headerRateLimit], string(items))
	}
	return true
}

// The headers' canonical keys, written directly: Header.Add would
// canonicalise "RateLimit" into a new string on every request.
const (
	headerRateLimit       = "Ratelimit"
	headerRateLimitPolicy = "Ratelimit-Policy"
)

// addShared adds values (a full slice shared between requests, see
// compile) to h's canonical key: as the key's only values when it has
// none, which costs no allocation.
func addShared(h http.Header, key string, values []string) {
	if len(h[key]) == 0 {
		h[key] = values
		return
	}
	h[key] = append(h[key], values...)
}

// storeFailed counts and logs a store failure and, when the policy fails
// closed, answers 503. It reports whether it answered.
func (o *options) storeFailed(w http.ResponseWriter, r *http.Request, st *policyState, err error) bool {
	mode := "open"
	if st.FailClosed {
		mode = "closed"
	}
	if o.metrics != nil {
		o.metrics.countStoreError(outcome.Route(r), routeseries.BornOf(r, o.born), st.Name, mode)
	}
	if st.failing.CompareAndSwap(false, true) {
		o.logger.Warn("rate limit store unavailable; failing "+mode, "policy", st.Name, "err", err.Error())
	}
	if !st.FailClosed {
		return false
	}
	d := problem.Details{Status: http.StatusServiceUnavailable, Type: "urn:gatescale:ratelimit:unavailable",
		Detail: "rate limiting is unavailable; try again shortly"}
	if info := request.InfoFrom(r.Context()); info != nil {
		d.Route = info.Route
		info.SetError("rate limit store unavailable")
	}
	w.Header().Set("Retry-After", "1")
	problem.Write(w, d)
	return true
}

func (o *options) reject(w http.ResponseWriter, r *http.Request, policy, detail string) {
	d := problem.Details{Status: http.StatusTooManyRequests, Type: "urn:gatescale:ratelimit:exceeded", Detail: detail}
	if info := request.InfoFrom(r.Context()); info != nil {
		d.Route = info.Route
		info.SetError("rate limited: " + policy)
	}
	if o.metrics != nil {
		o.metrics.countRejected(outcome.Route(r), routeseries.BornOf(r, o.born), policy)
	}
	problem.Write(w, d)
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// ConcurrencyPolicy limits requests in flight at once.
type ConcurrencyPolicy struct {
	// Name identifies the policy in metrics and errors. Required.
	Name string
	// Max is the most requests in flight per key. Required.
	Max int
	// Key picks the counter per request (nil: one for the policy).
	Key KeyFunc
	// Counter holds the counts; nil gives the middleware its own. Pass the
	// same one to the middleware a reload builds so requests in flight
	// across the reload still count.
	Counter *InFlight
}

// Concurrency refuses a request with 429 (Retry-After: 1) when Max
// requests of its key are already in flight in this process. It counts
// per gateway process: a limit that protects a backend from N replicas is
// Max×N.
func Concurrency(p ConcurrencyPolicy, opts ...Option) func(http.Handler) http.Handler {
	if p.Max <= 0 || p.Name == "" {
		panic(fmt.Sprintf("ratelimit: concurrency policy %q: max %d must be at least 1", p.Name, p.Max))
	}
	o := newOptions(opts)
	counter := p.Counter
	if counter == nil {
		counter = NewInFlight()
	}
	return func(next http.Handler) http.Handler {
		o := o
		o.born = o.metrics.born()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := ""
			if p.Key != nil {
				key = p.Key(r)
			}
			if !counter.acquire(key, p.Max) {
				w.Header().Set("Retry-After", "1")
				o.reject(w, r, p.Name, fmt.Sprintf("concurrency limit %q of %d requests in flight reached", p.Name, p.Max))
				return
			}
			defer counter.release(key)
			next.ServeHTTP(w, r)
		})
	}
}

// errPolicy is returned by Validate for policies without a name.
var errPolicy = errors.New("a policy needs a name")

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	if p.Name == "" {
		return errPolicy
	}
	return p.Limit.Validate()
}
