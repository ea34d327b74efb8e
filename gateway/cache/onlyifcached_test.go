package cache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/units"
)

// RFC 9111 §5.2.1.7: a request with only-if-cached is answered from the
// store or with 504, and never reaches the upstream (counted by the
// backend's own request counter).
func TestOnlyIfCached(t *testing.T) {
	const oic = "only-if-cached"
	// Once blocked, the backend holds its calls until the test ends, so
	// that a background refresh would still be in flight when looked for.
	var blocked atomic.Bool
	unblock := make(chan struct{})
	h := counter("Cache-Control", "max-age=10, stale-while-revalidate=30")
	f := newFixture(t, Policy{StaleIfError: units.Duration(time.Hour)}, func(w http.ResponseWriter, r *http.Request) {
		if blocked.Load() {
			<-unblock
		}
		h(w, r)
	})
	t.Cleanup(func() { close(unblock) })

	// Nothing stored: 504, the upstream is not called.
	if r := f.get("/oic", "Cache-Control", oic); r.code != http.StatusGatewayTimeout || r.xcache() != Miss {
		t.Fatalf("not stored: %d %s %q", r.code, r.xcache(), r.body)
	}
	if r := f.do(context.Background(), http.MethodHead, "/oic", "Cache-Control", oic); r.code != http.StatusGatewayTimeout {
		t.Fatalf("HEAD, not stored: %d", r.code)
	}
	if c := f.back.calls.Load(); c != 0 {
		t.Fatalf("only-if-cached reached the upstream: %d calls", c)
	}

	// Stored: a HIT, still without an upstream call.
	f.get("/oic")
	blocked.Store(true)
	if r := f.get("/oic", "Cache-Control", oic); r.code != 200 || r.xcache() != Hit || r.body != "answer 1" {
		t.Fatalf("stored: %d %s %q", r.code, r.xcache(), r.body)
	}
	// A stored answer the request's other directives refuse is no answer.
	f.clock.Advance(5 * time.Second)
	if r := f.get("/oic", "Cache-Control", oic+", max-age=2"); r.code != http.StatusGatewayTimeout {
		t.Fatalf("older than the request's max-age: %d %s", r.code, r.xcache())
	}
	if r := f.get("/oic", "Cache-Control", oic, "Pragma", "no-cache", "Cache-Control", "no-cache"); r.code != http.StatusGatewayTimeout {
		t.Fatalf("with no-cache: %d %s", r.code, r.xcache())
	}

	// Stale within stale-while-revalidate: served stale, and no background
	// refresh is started on its behalf (no flight in progress, no call).
	f.clock.Advance(10 * time.Second)
	if r := f.get("/oic", "Cache-Control", oic); r.code != 200 || r.xcache() != Stale || r.body != "answer 1" {
		t.Fatalf("stale-while-revalidate: %d %s %q", r.code, r.xcache(), r.body)
	}
	f.store.flights.mu.Lock()
	inFlight := len(f.store.flights.m)
	f.store.flights.mu.Unlock()
	if inFlight != 0 {
		t.Fatalf("only-if-cached started %d background refreshes", inFlight)
	}

	// Stale beyond stale-while-revalidate but within stale-if-error: that
	// window allows a stale answer only when the upstream fails, and this
	// request does not ask the upstream: 504.
	f.clock.Advance(time.Minute)
	if r := f.get("/oic", "Cache-Control", oic); r.code != http.StatusGatewayTimeout {
		t.Fatalf("stale-if-error window: %d %s %q", r.code, r.xcache(), r.body)
	}

	// A request the cache does not store (a Cookie) has no stored answer
	// either.
	if r := f.get("/oic", "Cache-Control", oic, "Cookie", "s=1"); r.code != http.StatusGatewayTimeout || r.xcache() != "" {
		t.Fatalf("uncacheable request: %d %s", r.code, r.xcache())
	}
	if c := f.back.calls.Load(); c != 1 {
		t.Fatalf("backend calls = %d, want 1 (the plain GET)", c)
	}

	// With IgnoreClientCacheControl the directive is ignored like the
	// others: the request goes upstream.
	g := newFixture(t, Policy{IgnoreClientCacheControl: true}, counter("Cache-Control", "max-age=10"))
	if r := g.get("/oic", "Cache-Control", oic); r.code != 200 || r.xcache() != Miss || g.back.calls.Load() != 1 {
		t.Fatalf("ignored: %d %s calls=%d", r.code, r.xcache(), g.back.calls.Load())
	}
}

func TestDoOnlyIfCached(t *testing.T) {
	c, _ := newDoCache(t, Policy{})
	var calls atomic.Int64
	fetch := func(ctx context.Context) (*Response, error) {
		calls.Add(1)
		return &Response{Status: 200, Header: http.Header{"Cache-Control": {"max-age=10"}}, Body: []byte("computed")}, nil
	}
	req := func(cc string) *http.Request {
		r := httptest.NewRequest("GET", "/composite", nil)
		if cc != "" {
			r.Header.Set("Cache-Control", cc)
		}
		return r
	}
	resp, err := c.Do(req("only-if-cached"), fetch)
	if err != nil || resp.Status != http.StatusGatewayTimeout || calls.Load() != 0 {
		t.Fatalf("not stored: %v %+v calls=%d", err, resp, calls.Load())
	}
	if _, err := c.Do(req(""), fetch); err != nil {
		t.Fatal(err)
	}
	resp, err = c.Do(req("only-if-cached"), fetch)
	if err != nil || resp.Status != 200 || string(resp.Body) != "computed" || resp.Header.Get(HeaderXCache) != Hit || calls.Load() != 1 {
		t.Fatalf("stored: %v %+v calls=%d", err, resp, calls.Load())
	}
}
