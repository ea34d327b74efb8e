package ratelimit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// clock is a manual clock for the Local store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLocalGCRA(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := &ratelimit.Local{Now: c.now}
	l := ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 5} // one every 100ms, 5 at once
	ctx := context.Background()
	for i := range 5 {
		res, err := s.Allow(ctx, "k", l)
		if err != nil || !res.Allowed || res.Remaining != 4-i {
			t.Fatalf("request %d of the burst: %+v %v", i, res, err)
		}
	}
	res, _ := s.Allow(ctx, "k", l)
	if res.Allowed || res.RetryAfter != 100*time.Millisecond || res.ResetAfter != 500*time.Millisecond {
		t.Fatalf("over the burst: %+v", res)
	}
	c.advance(99 * time.Millisecond)
	if res, _ := s.Allow(ctx, "k", l); res.Allowed || res.RetryAfter != time.Millisecond {
		t.Fatalf("1ms early: %+v", res)
	}
	c.advance(time.Millisecond)
	if res, _ := s.Allow(ctx, "k", l); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("on time: %+v", res)
	}
	// Other keys have their own buckets.
	if res, _ := s.Allow(ctx, "other", l); !res.Allowed || res.Remaining != 4 {
		t.Fatalf("other key: %+v", res)
	}
	// Over a long run the admitted rate is the configured one.
	admitted := 0
	for range 10_000 { // 10 s offered at 1000/s
		c.advance(time.Millisecond)
		if res, _ := s.Allow(ctx, "steady", l); res.Allowed {
			admitted++
		}
	}
	if admitted < 100 || admitted > 105 { // 10/s for 10 s, plus the burst
		t.Fatalf("admitted %d in 10 s at 10/s burst 5", admitted)
	}
	// Full buckets are forgotten.
	c.advance(time.Minute)
	_, _ = s.Allow(ctx, "k", l)
	if n := s.Len(); n > 3 {
		t.Fatalf("%d keys held after their buckets refilled", n)
	}
	if _, err := s.Allow(ctx, "k", ratelimit.Limit{Rate: 0, Period: time.Second}); err == nil {
		t.Fatal("rate 0 accepted")
	}
}

// TestLocalBurstBeyondADuration: a burst whose credit (burst × per / rate)
// does not fit a time.Duration (292 years: here 1,000 requests of a yearly
// limit) overflowed in the Local store, which then refused every request,
// the first included, while Redis (floats) allowed it. Validate refuses
// such a limit instead, so the configuration says so and no store
// misbehaves.
func TestLocalBurstBeyondADuration(t *testing.T) {
	l := ratelimit.Limit{Rate: 1, Period: 365 * 24 * time.Hour, Burst: 1000}
	res, err := (&ratelimit.Local{}).Allow(context.Background(), "k", l)
	if err == nil {
		t.Fatalf("a burst of %d requests %v apart: Allow = %+v, want an error (it cannot be kept in a Duration)", l.Burst, l.Period, res)
	}
	if l.Validate() == nil {
		t.Fatal("Validate accepts it")
	}
	// The largest burst that fits still works.
	l.Burst = int(math.MaxInt64 / int64(l.Period))
	if res, err := (&ratelimit.Local{}).Allow(context.Background(), "k", l); err != nil || !res.Allowed || res.Remaining != l.Burst-1 {
		t.Fatalf("burst %d: %+v %v", l.Burst, res, err)
	}
}

// TestRaisedLimitAppliesAtOnce: a bucket spent under a slow limit (one an
// hour) and then read under a raised one (a reload to 1,000 a second: one
// every millisecond, 1,000 at once) owes at most the raised limit's full
// bucket. Its theoretical arrival time was kept as it was, an hour ahead,
// so every request was refused for the hour with Retry-After: 3600 after
// the operator raised the limit. Now the spent budget carries over as an
// empty bucket of the new limit: the next request one emission later goes
// through. Both stores, Redis a real one.
func TestRaisedLimitAppliesAtOnce(t *testing.T) {
	hourly := ratelimit.Limit{Rate: 1, Period: time.Hour}
	raised := ratelimit.Limit{Rate: 1000, Period: time.Second}
	ctx := context.Background()

	c := &clock{t: time.Unix(1_700_000_000, 0)}
	local := &ratelimit.Local{Now: c.now}
	if res, err := local.Allow(ctx, "k", hourly); err != nil || !res.Allowed {
		t.Fatalf("local, first request: %+v %v", res, err)
	}
	res, err := local.Allow(ctx, "k", raised)
	if err != nil || res.RetryAfter > time.Millisecond || res.ResetAfter > time.Second {
		t.Fatalf("local, under the raised limit: %+v %v, want at most 1ms to wait and 1s to a full bucket", res, err)
	}
	c.advance(time.Millisecond)
	if res, err := local.Allow(ctx, "k", raised); err != nil || !res.Allowed {
		t.Fatalf("local, 1ms later under the raised limit: %+v %v", res, err)
	}

	_, client := newRedis(t)
	store := &ratelimit.Redis{Client: client}
	if res, err := store.Allow(ctx, "k", hourly); err != nil || !res.Allowed {
		t.Fatalf("redis, first request: %+v %v", res, err)
	}
	res, err = store.Allow(ctx, "k", raised)
	if err != nil || res.RetryAfter > time.Millisecond || res.ResetAfter > time.Second {
		t.Fatalf("redis, under the raised limit: %+v %v, want at most 1ms to wait and 1s to a full bucket", res, err)
	}
	// The key (redis_rate's name for it, kept so budgets outlive an
	// upgrade) expires with the raised limit's bucket, not the hour.
	if ttl := client.TTL(ctx, "rate:"+ratelimit.DefaultRedisPrefix+"k").Val(); ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("redis key TTL %v under the raised limit, want at most 2s", ttl)
	}
}

func newRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	return srv, client
}

func TestRedisGCRA(t *testing.T) {
	_, client := newRedis(t)
	a := &ratelimit.Redis{Client: client}
	// A second store, as in another gateway process: same buckets.
	other := redis.NewClient(&redis.Options{Addr: client.Options().Addr})
	defer other.Close()
	b := &ratelimit.Redis{Client: other}
	l := ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 3}
	ctx := context.Background()
	for i, s := range []*ratelimit.Redis{a, b, a} {
		res, err := s.Allow(ctx, "k", l)
		if err != nil || !res.Allowed || res.Remaining != 2-i {
			t.Fatalf("request %d: %+v %v", i, res, err)
		}
	}
	res, err := b.Allow(ctx, "k", l)
	if err != nil || res.Allowed || res.RetryAfter < 55*time.Second || res.RetryAfter > time.Minute {
		t.Fatalf("over the burst: %+v %v", res, err)
	}
	if res, _ := a.Allow(ctx, "k2", l); !res.Allowed {
		t.Fatal("another key was limited")
	}
	keys, _ := client.Keys(ctx, "*"+ratelimit.DefaultRedisPrefix+"k*").Result()
	if len(keys) == 0 {
		t.Fatal("no keys under the prefix")
	}
}

func TestRedisUnavailable(t *testing.T) {
	srv, client := newRedis(t)
	s := &ratelimit.Redis{Client: client, Backoff: time.Hour, Timeout: 200 * time.Millisecond}
	l := ratelimit.Limit{Rate: 5, Period: time.Second}
	ctx := context.Background()
	if _, err := s.Allow(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Allow(ctx, "k", l); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("Redis down: err = %v", err)
	}
	// During the backoff no call is made: the answer is immediate even
	// though Redis is back.
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Allow(ctx, "k", l); !errors.Is(err, ratelimit.ErrUnavailable) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("during backoff: %v after %v", err, time.Since(start))
	}
	s2 := &ratelimit.Redis{Client: client}
	if _, err := s2.Allow(ctx, "k", l); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// failingStore fails while down is set.
type failingStore struct {
	mu   sync.Mutex
	down bool
	ratelimit.Local
}

func (f *failingStore) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return ratelimit.Result{}, fmt.Errorf("%w: test", ratelimit.ErrUnavailable)
	}
	return f.Local.Allow(ctx, key, l)
}

func (f *failingStore) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func serve(h http.Handler, id *consumer.Identity, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/x", nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	ctx := request.WithInfo(r.Context(), &request.Info{Route: "orders"})
	if id != nil {
		ctx = consumer.NewContext(ctx, id)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r.WithContext(ctx))
	return rec
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func TestMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := ratelimit.Middleware([]ratelimit.Policy{
		{Name: "per-consumer", Limit: ratelimit.Limit{Rate: 2, Period: time.Minute}, Key: ratelimit.Consumer(ratelimit.ClientIP())},
		{Name: "route", Limit: ratelimit.Limit{Rate: 100, Period: time.Second, Burst: 3}},
	}, ratelimit.WithMetrics(m))(ok)

	alice := &consumer.Identity{ConsumerID: "alice"}
	rec := serve(h, alice, "")
	if rec.Code != 204 || rec.Header().Get("RateLimit-Policy") != `"per-consumer";q=2;w=60, "route";q=100;w=1` ||
		rec.Header().Get("RateLimit") != `"per-consumer";r=1;t=30, "route";r=2;t=1` {
		t.Fatalf("first request: %d %v", rec.Code, rec.Header())
	}
	serve(h, alice, "")
	rec = serve(h, alice, "")
	var body problem.Details
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "30" || body.Type != "urn:gatescale:ratelimit:exceeded" ||
		body.Route != "orders" || !strings.Contains(body.Detail, `"per-consumer" of 2 requests per 1m0s`) {
		t.Fatalf("third request: %d %v %+v", rec.Code, rec.Header(), body)
	}
	if rec.Header().Get("RateLimit") != `"per-consumer";r=0;t=60` {
		t.Fatalf("429 RateLimit = %q", rec.Header().Get("RateLimit"))
	}
	// bob has his own bucket but shares the route's, which alice's refused
	// request did not charge: 2 of its 3 are used.
	bob := &consumer.Identity{ConsumerID: "bob"}
	if rec := serve(h, bob, ""); rec.Code != 204 {
		t.Fatalf("bob: %d", rec.Code)
	}
	if rec := serve(h, bob, ""); rec.Code != 429 || !strings.Contains(rec.Body.String(), `\"route\"`) {
		t.Fatalf("bob on the exhausted route budget: %d %s", rec.Code, rec.Body)
	}
	// Anonymous callers are keyed by IP.
	if rec := serve(h, nil, "192.0.2.1:1000"); rec.Code != 429 { // route budget still empty
		t.Fatalf("anonymous: %d", rec.Code)
	}
	if got := counterValue(t, reg, ratelimit.RejectedTotal, map[string]string{"route": "orders", "policy": "per-consumer"}); got != 1 {
		t.Errorf("per-consumer rejections = %v, want 1", got)
	}
	if got := counterValue(t, reg, ratelimit.RejectedTotal, map[string]string{"route": "orders", "policy": "route"}); got != 2 {
		t.Errorf("route rejections = %v, want 2", got)
	}
}

func TestFailOpenAndClosed(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(fmt.Sprintf("closed=%v", closed), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, _ := ratelimit.NewMetrics(reg)
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			store := &failingStore{}
			h := ratelimit.Middleware([]ratelimit.Policy{{Name: "p", Limit: ratelimit.Limit{Rate: 100, Period: time.Second},
				Store: store, FailClosed: closed}}, ratelimit.WithMetrics(m), ratelimit.WithLogger(logger))(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
			store.set(true)
			want, mode := 204, "open"
			if closed {
				want, mode = 503, "closed"
			}
			for range 3 {
				if rec := serve(h, nil, ""); rec.Code != want {
					t.Fatalf("store down: %d, want %d", rec.Code, want)
				}
			}
			if got := counterValue(t, reg, ratelimit.StoreErrorsTotal, map[string]string{"route": "orders", "policy": "p", "mode": mode}); got != 3 {
				t.Fatalf("store errors = %v, want 3", got)
			}
			if n := strings.Count(logs.String(), "rate limit store unavailable; failing "+mode); n != 1 {
				t.Fatalf("%d failure log lines, want 1 per outage:\n%s", n, logs.String())
			}
			store.set(false)
			if rec := serve(h, nil, ""); rec.Code != 204 || rec.Header().Get("RateLimit") == "" {
				t.Fatalf("store back: %d %v", rec.Code, rec.Header())
			}
			if !strings.Contains(logs.String(), "rate limit store reachable again") {
				t.Fatalf("no recovery log line:\n%s", logs.String())
			}
		})
	}
}

// A request of a removed route's old middleware that meets an unavailable
// store after the route's series were deleted is counted, under
// route="(removed)" and no policy, not under the route again.
func TestStoreErrorOfRemovedRoute(t *testing.T) {
	srv, client := newRedis(t)
	reg := prometheus.NewRegistry()
	m, _ := ratelimit.NewMetrics(reg)
	h := ratelimit.Middleware([]ratelimit.Policy{{Name: "orders", Limit: ratelimit.Limit{Rate: 100, Period: time.Second},
		Store: &ratelimit.Redis{Client: client, Backoff: time.Hour}}}, ratelimit.WithMetrics(m), ratelimit.WithLogger(slog.New(slog.DiscardHandler)))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	m.ForgetRoute("orders") // the table with h was replaced
	srv.Stop()
	if rec := serve(h, nil, ""); rec.Code != 204 {
		t.Fatalf("store down, failing open: %d", rec.Code)
	}
	if got := counterValue(t, reg, ratelimit.StoreErrorsTotal, map[string]string{"route": "(removed)", "policy": "", "mode": "open"}); got != 1 {
		t.Errorf("store errors of the removed route's late request = %v, want 1", got)
	}
	if got := counterValue(t, reg, ratelimit.StoreErrorsTotal, map[string]string{"route": "orders"}); got != 0 {
		t.Errorf("the removed route has store errors again: %v", got)
	}
}

func TestConcurrency(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := ratelimit.NewMetrics(reg)
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	h := ratelimit.Concurrency(ratelimit.ConcurrencyPolicy{Name: "inflight", Max: 2, Key: ratelimit.Consumer(nil)}, ratelimit.WithMetrics(m))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
		}))
	alice := &consumer.Identity{ConsumerID: "alice"}
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- serve(h, alice, "").Code }()
	}
	<-entered
	<-entered
	rec := serve(h, alice, "")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("third in flight: %d", rec.Code)
	}
	// Another consumer has its own count.
	wg.Add(1)
	go func() { defer wg.Done(); codes <- serve(h, &consumer.Identity{ConsumerID: "bob"}, "").Code }()
	<-entered
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("admitted request answered %d", c)
		}
	}
	// All finished: the slots are free again.
	release = make(chan struct{})
	close(release)
	if rec := serve(h, alice, ""); rec.Code != 200 {
		t.Fatalf("after the others finished: %d", rec.Code)
	}
	if got := counterValue(t, reg, ratelimit.RejectedTotal, map[string]string{"policy": "inflight"}); got != 1 {
		t.Fatalf("rejections = %v", got)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	key := ratelimit.ClientIP(trusted...)
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.7:1234", nil, "ip:192.0.2.7"},
		// An untrusted peer cannot choose its bucket.
		{"192.0.2.7:1234", []string{"203.0.113.9"}, "ip:192.0.2.7"},
		// A trusted proxy: the right-most untrusted hop is the client; what
		// the client itself put on the left is ignored.
		{"10.1.1.1:80", []string{"1.2.3.4, 198.51.100.5, 10.2.2.2"}, "ip:198.51.100.5"},
		{"10.1.1.1:80", []string{"1.2.3.4", "198.51.100.5"}, "ip:198.51.100.5"},
		{"10.1.1.1:80", []string{"10.3.3.3"}, "ip:10.3.3.3"},
		{"10.1.1.1:80", []string{"garbage, 198.51.100.5"}, "ip:198.51.100.5"},
		{"10.1.1.1:80", []string{"198.51.100.5, garbage"}, "ip:10.1.1.1"},
		{"[::1]:80", []string{"2001:db8:1:2:3:4:5:6"}, "ip:2001:db8:1:2::/64"},
		{"[2001:db8:a:b::1]:5", nil, "ip:2001:db8:a:b::/64"},
		{"[::ffff:192.0.2.1]:5", nil, "ip:192.0.2.1"},
		{"pipe", nil, "ip:unknown"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := key(r); got != c.want {
			t.Errorf("remote %s xff %q: key %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}

// TestClientIPFollowsTheTable: under a route table the table's trusted
// proxies decide, not the list the key was built with, so a reload that
// builds a new table changes every key at once.
func TestClientIPFollowsTheTable(t *testing.T) {
	lb := netip.MustParsePrefix("10.0.0.0/8")
	var got string
	keyOf := func(built []netip.Prefix, table ...route.Option) string {
		key := ratelimit.ClientIP(built...)
		tbl, err := route.NewTable([]route.Route{{Route: spec.Route{Name: "x", PathPrefix: "/"}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = key(r) })}}, table...)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.1.1.1:80"
		r.Header.Set("X-Forwarded-For", "198.51.100.5")
		tbl.ServeHTTP(httptest.NewRecorder(), r)
		return got
	}
	if k := keyOf(nil, route.WithTrustedProxies(lb)); k != "ip:198.51.100.5" {
		t.Errorf("table trusts the peer, key built trusting nothing: %q", k)
	}
	if k := keyOf([]netip.Prefix{lb}); k != "ip:10.1.1.1" {
		t.Errorf("table trusts nothing, key built trusting the peer: %q", k)
	}
}

func TestKeys(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1"
	ip := ratelimit.ClientIP()
	withID := func(id *consumer.Identity) *http.Request { return r.WithContext(consumer.NewContext(r.Context(), id)) }
	keyed := withID(&consumer.Identity{ConsumerID: "alice", Method: consumer.MethodAPIKey, Credential: "alice-cli"})
	if got := ratelimit.Consumer(ip)(keyed); got != "consumer:alice" {
		t.Errorf("Consumer = %q", got)
	}
	if got := ratelimit.APIKey(ip)(keyed); got != "api_key:alice-cli" {
		t.Errorf("APIKey = %q", got)
	}
	jwtReq := withID(&consumer.Identity{ConsumerID: "alice", Method: consumer.MethodJWT})
	if got := ratelimit.APIKey(ratelimit.Consumer(nil))(jwtReq); got != "consumer:alice" {
		t.Errorf("APIKey on a JWT request = %q", got)
	}
	if got := ratelimit.Consumer(ip)(r); got != "ip:192.0.2.1" {
		t.Errorf("Consumer of an anonymous request = %q", got)
	}
	h := ratelimit.Header("X-Tenant", nil)
	r2 := r.Clone(r.Context())
	r2.Header.Set("X-Tenant", strings.Repeat("t", 1000))
	if got := h(r2); !strings.HasPrefix(got, "header:") || len(got) > 40 || h(r) != "" {
		t.Errorf("Header = %q", got)
	}
}

// Two limiters on one route (e.g. before and after authentication) list
// both policies, and the value one request shares with the next is not
// changed by what a later handler adds to the header.
func TestMiddlewareStackedHeaders(t *testing.T) {
	var addedByHandler bool
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !addedByHandler {
			w.Header().Add("RateLimit-Policy", `"upstream";q=5;w=1`)
			addedByHandler = true
		}
		w.WriteHeader(204)
	})
	outer := ratelimit.Middleware([]ratelimit.Policy{{Name: "outer", Limit: ratelimit.Limit{Rate: 100, Period: time.Second}}})
	inner := ratelimit.Middleware([]ratelimit.Policy{{Name: "inner", Limit: ratelimit.Limit{Rate: 50, Period: time.Minute}}})
	h := outer(inner(final))
	want := []string{`"outer";q=100;w=1`, `"inner";q=50;w=60`, `"upstream";q=5;w=1`}
	rec := serve(h, nil, "")
	if got := rec.Header().Values("RateLimit-Policy"); !slices.Equal(got, want) {
		t.Fatalf("first request: RateLimit-Policy = %q, want %q", got, want)
	}
	if got := rec.Header().Values("RateLimit"); !slices.Equal(got, []string{`"outer";r=99;t=1`, `"inner";r=49;t=2`}) {
		t.Fatalf("first request: RateLimit = %q", got)
	}
	rec = serve(h, nil, "")
	if got := rec.Header().Values("RateLimit-Policy"); !slices.Equal(got, want[:2]) {
		t.Fatalf("second request: RateLimit-Policy = %q, want %q", got, want[:2])
	}
}

// An allowed request through one keyed policy costs the bucket key, the
// RateLimit value and its header slice, nothing more (the key function's
// own allocations aside: this one has none).
func TestMiddlewareAllocations(t *testing.T) {
	h := ratelimit.Middleware([]ratelimit.Policy{
		{Name: "per-client", Limit: ratelimit.Limit{Rate: 1_000_000_000, Period: time.Second},
			Key: func(*http.Request) string { return "client" }},
	})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	w := &headerOnly{h: http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	})
	if allocs > 3 {
		t.Fatalf("%.1f allocations per allowed request, want at most 3 (key, RateLimit value, its header slice)", allocs)
	}
}

type headerOnly struct{ h http.Header }

func (w *headerOnly) Header() http.Header         { return w.h }
func (w *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerOnly) WriteHeader(int)             {}

// TestRedisTimeoutBoundsTheCall: Timeout bounds a call to a Redis that
// holds it (here a real one whose clients are paused with CLIENT PAUSE),
// whatever the client's own timeouts: go-redis ignores a context's
// deadline unless the client was made with ContextTimeoutEnabled, which
// redis.NewClient does not set, so a request used to wait for the client's
// read timeout (3 s by default; here none) instead of failing open.
func TestRedisTimeoutBoundsTheCall(t *testing.T) {
	srv, admin := newRedis(t)
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, ReadTimeout: -1})
	t.Cleanup(func() { client.Close() })
	s := &ratelimit.Redis{Client: client, Timeout: 100 * time.Millisecond, Backoff: time.Hour}
	l := ratelimit.Limit{Rate: 5, Period: time.Second}
	if _, err := s.Allow(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	// Pause commands (not the admin's UNPAUSE, which CLIENT PAUSE WRITE
	// lets through): the limiter's script is a write.
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "600000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "CLIENT", "UNPAUSE") })
	done := make(chan error, 1)
	go func() {
		_, err := s.Allow(ctx, "k", l)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ratelimit.ErrUnavailable) {
			t.Fatalf("Redis paused: err = %v, want ErrUnavailable", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Allow against a paused Redis had not returned after 30 s (Timeout is 100 ms)")
	}
}
