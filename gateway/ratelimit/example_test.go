package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatescale/gatescale/gateway/ratelimit"
)

func ExampleMiddleware() {
	limited := ratelimit.Middleware([]ratelimit.Policy{{
		Name:  "per-ip",
		Limit: ratelimit.Limit{Rate: 60, Period: time.Minute, Burst: 2},
		Key:   ratelimit.ClientIP(), // behind a proxy: ClientIP(trustedProxyPrefixes...)
		// Store: &ratelimit.Redis{Client: rdb} for a limit across replicas.
	}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	for range 3 {
		rec := httptest.NewRecorder()
		limited.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Printf("%d RateLimit: %s Retry-After: %q\n", rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit: "per-ip";r=1;t=1 Retry-After: ""
	// 200 RateLimit: "per-ip";r=0;t=2 Retry-After: ""
	// 429 RateLimit: "per-ip";r=0;t=2 Retry-After: "1"
}

func ExampleConcurrency() {
	h := ratelimit.Concurrency(ratelimit.ConcurrencyPolicy{Name: "uploads", Max: 10, Key: ratelimit.Consumer(ratelimit.ClientIP())})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "uploaded") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/files/a", nil))
	fmt.Print(rec.Body)
	// Output: uploaded
}

func ExampleRedis() {
	// One Redis shared by every gateway replica holds the buckets, so the
	// limit is cluster-wide. When Redis is unreachable the policy fails
	// open (or closed, with FailClosed) and says so in the log and metrics.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	store := &ratelimit.Redis{Client: rdb, Timeout: 50 * time.Millisecond}
	_ = ratelimit.Middleware([]ratelimit.Policy{{
		Name:  "per-consumer",
		Limit: ratelimit.Limit{Rate: 100, Period: time.Minute, Burst: 20},
		Key:   ratelimit.Consumer(ratelimit.ClientIP()),
		Store: store,
	}})
}

func ExampleLocal() {
	s := &ratelimit.Local{}
	l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}
	for range 3 {
		res, _ := s.Allow(context.Background(), "alice", l)
		fmt.Println(res.Allowed, res.Remaining)
	}
	// Output:
	// true 1
	// true 0
	// false 0
}

func ExampleClientIP() {
	key := ratelimit.ClientIP() // no trusted proxies: X-Forwarded-For is ignored
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.7:5000"
	r.Header.Set("X-Forwarded-For", "1.1.1.1")
	fmt.Println(key(r))
	// Output: ip:203.0.113.7
}

// One InFlight given to the middleware before a reload and to the one the
// reload builds: a request still in flight in the old one counts against
// the new one's limit.
func ExampleNewInFlight() {
	counter := ratelimit.NewInFlight()
	policy := ratelimit.ConcurrencyPolicy{Name: "uploads", Max: 1, Counter: counter}

	var reloaded http.Handler
	before := ratelimit.Concurrency(policy)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// This request is in flight while the new middleware serves another.
		fmt.Println("in flight:", counter.Count(""))
		rec := httptest.NewRecorder()
		reloaded.ServeHTTP(rec, httptest.NewRequest("PUT", "/files/b", nil))
		fmt.Println("during the old request:", rec.Code)
	}))
	reloaded = ratelimit.Concurrency(policy)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	before.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/files/a", nil))
	fmt.Println("in flight:", counter.Count(""))
	rec := httptest.NewRecorder()
	reloaded.ServeHTTP(rec, httptest.NewRequest("PUT", "/files/b", nil))
	fmt.Println("after it:", rec.Code)
	// Output:
	// in flight: 1
	// during the old request: 429
	// in flight: 0
	// after it: 200
}
