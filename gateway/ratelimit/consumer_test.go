package ratelimit_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestConsumerLimitsAcrossRecordReloads: a consumers reload replaces every
// record with a new one. The budget is the consumer's, not the record's —
// fifty reloads with the same limit do not reset it — and a changed limit
// applies from the next request on (the budget's state carries over, as
// GCRA's theoretical arrival time).
func TestConsumerLimitsAcrossRecordReloads(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := ratelimit.ConsumerLimits(&ratelimit.Local{Now: func() time.Time { return now }}, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	record := func(rate int) *consumer.Consumer {
		return &consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: rate, Per: spec.Duration(time.Minute)}}}
	}
	call := func(c *consumer.Consumer) int { return serveAs(h, c) }
	first := record(2)
	for i := range 2 {
		if code := call(first); code != 200 {
			t.Fatalf("call %d within the plan: %d", i, code)
		}
	}
	for i := range 50 {
		if code := call(record(2)); code != 429 {
			t.Fatalf("after reload %d with the same plan: %d, want 429 (the budget is the consumer's)", i, code)
		}
	}
	// 100 ms later the old plan (2 a minute) still refuses; the raised one
	// (1,000 a minute: one every 60 ms) lets the request through.
	now = now.Add(100 * time.Millisecond)
	if code := call(record(2)); code != 429 {
		t.Fatalf("100 ms later on the old plan: %d, want 429", code)
	}
	if code := call(record(1000)); code != 200 {
		t.Fatalf("after the plan was raised: %d", code)
	}
}

// TestConsumerLimitsMemoryAcrossReloads: a consumers file reloaded many
// times leaves one compiled plan per consumer, not one per reload.
func TestConsumerLimitsMemoryAcrossReloads(t *testing.T) {
	h := ratelimit.ConsumerLimits(&ratelimit.Local{}, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve := func(c *consumer.Consumer) {
		req := httptest.NewRequest("GET", "/", nil)
		req = req.WithContext(consumer.NewContext(req.Context(), &consumer.Identity{ConsumerID: c.ID, Consumer: c}))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	serve(&consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: 1 << 30, Per: spec.Duration(time.Second)}}})
	before := heap()
	const reloads = 20000
	for range reloads {
		serve(&consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: 1 << 30, Per: spec.Duration(time.Second)}}})
	}
	after := heap()
	runtime.KeepAlive(h)
	if after > before && after-before > 1<<20 {
		t.Fatalf("the heap grew by %d bytes over %d reloads of one consumer's record (%d B each)", after-before, reloads, (after-before)/reloads)
	}
}

// TestConsumerLimitsAreEachConsumers: a consumer's limits are its own
// budgets. Neither a default name that another consumer's defaults also
// produce ("consumer:a#2" is both a's second limit and a#2's first) nor a
// plan name several consumers share ("gold") lets one consumer spend
// another's budget.
func TestConsumerLimitsAreEachConsumers(t *testing.T) {
	h := ratelimit.ConsumerLimits(&ratelimit.Local{}, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	call := func(c *consumer.Consumer) int { return serveAs(h, c) }
	perMinute := func(name string, rate int) consumer.Limit {
		return consumer.Limit{Name: name, Rate: rate, Per: spec.Duration(time.Minute)}
	}
	a := &consumer.Consumer{ID: "a", RateLimit: []consumer.Limit{perMinute("", 1000), perMinute("", 1)}}
	a2 := &consumer.Consumer{ID: "a#2", RateLimit: []consumer.Limit{perMinute("", 1)}}
	if a.LimitName(1) != a2.LimitName(0) {
		t.Fatalf("the case needs colliding default names: %q, %q", a.LimitName(1), a2.LimitName(0))
	}
	alice := &consumer.Consumer{ID: "alice", RateLimit: []consumer.Limit{perMinute("gold", 1)}}
	bob := &consumer.Consumer{ID: "bob", RateLimit: []consumer.Limit{perMinute("gold", 1)}}
	for _, pair := range [][2]*consumer.Consumer{{a2, a}, {alice, bob}} {
		first, second := pair[0], pair[1]
		if code := call(first); code != 200 {
			t.Fatalf("%s's first call: %d", first.ID, code)
		}
		if code := call(first); code != 429 {
			t.Fatalf("%s's second call: %d, want 429 (its budget is spent)", first.ID, code)
		}
		if code := call(second); code != 200 {
			t.Fatalf("%s's first call after %s spent its own budget: %d, want 200", second.ID, first.ID, code)
		}
	}
}

// serveAs serves a request of consumer c through h and returns the status.
func serveAs(h http.Handler, c *consumer.Consumer) int {
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(consumer.NewContext(req.Context(), &consumer.Identity{ConsumerID: c.ID, Consumer: c}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestConsumerBudgetIsNotARoutePolicys: a consumer's plan and a route policy
// keyed by consumer that happen to have the same name ("gold", or the
// plan's default "consumer:alice", both valid policy names) are two
// budgets, also in one shared Redis (the configuration's case: every
// store: redis limit uses rate_limit.redis). Their buckets used to be the
// same Redis key, so a call on the route spent the plan and the other way
// round.
func TestConsumerBudgetIsNotARoutePolicys(t *testing.T) {
	_, client := newRedis(t)
	store := &ratelimit.Redis{Client: client}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	plans := ratelimit.ConsumerLimits(&ratelimit.Local{}, store)(ok)
	for _, name := range []string{"gold", ""} {
		alice := &consumer.Consumer{ID: "alice", RateLimit: []consumer.Limit{{Name: name, Rate: 1, Per: spec.Duration(time.Minute), Store: "redis"}}}
		routePolicy := alice.LimitName(0)
		limited := ratelimit.Middleware([]ratelimit.Policy{{Name: routePolicy, Limit: ratelimit.Limit{Rate: 1, Period: time.Minute},
			Key: ratelimit.Consumer(nil), Store: store}})(ok)
		if code := serveAs(limited, alice); code != 200 {
			t.Fatalf("route policy %q: alice's first call: %d", routePolicy, code)
		}
		if code := serveAs(plans, alice); code != 200 {
			t.Fatalf("alice's first call under her plan %q after one call on route policy %q: %d, want 200 (two budgets)", routePolicy, routePolicy, code)
		}
		if code := serveAs(plans, alice); code != 429 {
			t.Fatalf("alice's second call under her plan %q: %d, want 429", routePolicy, code)
		}
	}
}

// TestConsumerRedisLimitWithoutRedis: a consumers file may give a consumer
// a store: redis limit while the gateway has no rate_limit.redis (the
// configuration check cannot see the file). The limit is then a store that
// is unavailable, so its failure_mode decides: closed refuses with 503, and
// open lets the call through counted as a store error. It used to be
// dropped without a word: the consumer called without any limit, even
// with failure_mode: closed.
func TestConsumerRedisLimitWithoutRedis(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := ratelimit.ConsumerLimits(&ratelimit.Local{}, nil, ratelimit.WithMetrics(m), ratelimit.WithLogger(slog.New(slog.DiscardHandler)))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	closed := &consumer.Consumer{ID: "closed", RateLimit: []consumer.Limit{{Rate: 1, Per: spec.Duration(time.Minute), Store: "redis", FailureMode: "closed"}}}
	for i := range 2 {
		if code := serveAs(h, closed); code != http.StatusServiceUnavailable {
			t.Fatalf("call %d of a consumer whose redis limit fails closed, without Redis: %d, want 503", i, code)
		}
	}
	open := &consumer.Consumer{ID: "open", RateLimit: []consumer.Limit{{Rate: 1, Per: spec.Duration(time.Minute), Store: "redis"}}}
	for i := range 2 {
		if code := serveAs(h, open); code != 200 {
			t.Fatalf("call %d of a consumer whose redis limit fails open, without Redis: %d, want 200", i, code)
		}
	}
	if n := counterValue(t, reg, ratelimit.StoreErrorsTotal, nil); n != 4 {
		t.Fatalf("%s = %v, want 4 (every call found no store)", ratelimit.StoreErrorsTotal, n)
	}
}

// TestConsumerLimitsLogAnOutageOnce: while Redis is down, consumers' plans
// fail open, each call counted, and the log says so once, as for route
// policies. Each consumer's compiled plan had its own "failing" flag, so an
// outage logged one warning per consumer that called (and again after
// each consumers reload): here fifty.
func TestConsumerLimitsLogAnOutageOnce(t *testing.T) {
	srv, client := newRedis(t)
	srv.Stop()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := ratelimit.ConsumerLimits(&ratelimit.Local{}, &ratelimit.Redis{Client: client, Backoff: time.Hour},
		ratelimit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), ratelimit.WithMetrics(m))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	const consumers = 50
	for i := range consumers {
		c := &consumer.Consumer{ID: fmt.Sprintf("c%d", i), RateLimit: []consumer.Limit{{Rate: 10, Per: spec.Duration(time.Minute), Store: "redis"}}}
		if code := serveAs(h, c); code != 200 {
			t.Fatalf("consumer %s with Redis down, failing open: %d", c.ID, code)
		}
	}
	if n := counterValue(t, reg, ratelimit.StoreErrorsTotal, nil); n != consumers {
		t.Fatalf("%s = %v, want %d", ratelimit.StoreErrorsTotal, n, consumers)
	}
	if n := strings.Count(logs.String(), "rate limit store unavailable; failing open"); n != 1 {
		t.Fatalf("the outage was logged %d times by %d consumers' calls, want once:\n%s", n, consumers, logs.String())
	}
}
