package cache

import (
	"context"
	"errors"
	"github.com/gatescale/gatescale/gateway/units"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newDoCache(t *testing.T, p Policy) (*Cache, *clock) {
	t.Helper()
	s, err := NewStore(StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	c, err := New(s, p)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestDo(t *testing.T) {
	c, clk := newDoCache(t, Policy{StaleIfError: units.Duration(time.Hour)})
	var calls atomic.Int64
	release := make(chan struct{})
	fetch := func(ctx context.Context) (*Response, error) {
		calls.Add(1)
		<-release
		if ctx.Err() != nil {
			t.Error("the shared fetch was cancelled")
		}
		return &Response{Status: 200, Header: http.Header{"Cache-Control": {"max-age=10"}}, Body: []byte(`{"merged":true}`)}, nil
	}
	req := func(ctx context.Context) *http.Request {
		return httptest.NewRequest("GET", "/composite?id=1", nil).WithContext(ctx)
	}

	// Concurrent callers share one fetch; one that leaves gets its
	// context's error and does not cancel the fetch.
	leaving, leave := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make([]*Response, 50)
	for i := range results {
		wg.Go(func() {
			resp, err := c.Do(req(context.Background()), fetch)
			if err != nil {
				t.Error(err)
			}
			results[i] = resp
		})
	}
	waitFor(t, func() bool { return calls.Load() == 1 })
	left := make(chan error) // started once the leader is fetching: it must be a waiter
	go func() {
		_, err := c.Do(req(leaving), fetch)
		left <- err
	}()
	time.Sleep(50 * time.Millisecond)
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller that left: %v", err)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("fetch called %d times, want 1", n)
	}
	for i, r := range results {
		if r == nil || r.Status != 200 || string(r.Body) != `{"merged":true}` {
			t.Fatalf("caller %d: %+v", i, r)
		}
	}

	clk.Advance(5 * time.Second)
	resp, err := c.Do(req(context.Background()), fetch)
	if err != nil || resp.Header.Get(HeaderXCache) != Hit || resp.Header.Get("Age") != "5" || calls.Load() != 1 {
		t.Fatalf("hit: %v %v calls=%d", resp, err, calls.Load())
	}

	// Stale, and the fetch fails: the stale answer is served.
	clk.Advance(time.Minute)
	boom := errors.New("backend down")
	resp, err = c.Do(req(context.Background()), func(context.Context) (*Response, error) { return nil, boom })
	if err != nil || resp.Header.Get(HeaderXCache) != Stale || string(resp.Body) != `{"merged":true}` {
		t.Fatalf("stale-if-error: %v %v", resp, err)
	}
	// Without a stale answer, the error is the caller's.
	if _, err := c.Do(httptest.NewRequest("GET", "/other", nil), func(context.Context) (*Response, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("error: %v", err)
	}
	// A panicking fetch releases its waiters.
	func() {
		defer func() { _ = recover() }()
		_, _ = c.Do(httptest.NewRequest("GET", "/panic", nil), func(context.Context) (*Response, error) { panic("boom") })
	}()
	if _, ok := c.store.flights.m["/panic"]; ok || len(c.store.flights.m) != 0 {
		t.Fatalf("flights left behind: %v", c.store.flights.m)
	}
}

func TestDoNotStorable(t *testing.T) {
	c, _ := newDoCache(t, Policy{})
	n := 0
	fetch := func(context.Context) (*Response, error) {
		n++
		return &Response{Status: 200, Header: http.Header{"Cache-Control": {"no-store"}}, Body: []byte("x")}, nil
	}
	for range 2 {
		resp, err := c.Do(httptest.NewRequest("GET", "/x", nil), fetch)
		if err != nil || resp.Header.Get(HeaderXCache) != Miss {
			t.Fatalf("%v %v", resp, err)
		}
	}
	if n != 2 {
		t.Fatalf("fetch called %d times, want 2", n)
	}
}

// As with Middleware: a fetch that hangs after its caller left, with
// nobody waiting for it, is ended rather than left to hold the key.
func TestDoAbandonedFetchEnds(t *testing.T) {
	c, _ := newDoCache(t, Policy{})
	started := make(chan struct{})
	ended := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = c.Do(httptest.NewRequest("GET", "/hangs", nil).WithContext(ctx), func(fctx context.Context) (*Response, error) {
			close(started)
			select {
			case <-fctx.Done():
				ended <- "ended"
			case <-time.After(10 * time.Second):
				ended <- "still hanging 10 s after its caller left"
			}
			return nil, errors.New("no answer")
		})
	}()
	<-started
	cancel()
	if got := <-ended; got != "ended" {
		t.Fatalf("the abandoned fetch: %s", got)
	}
}
