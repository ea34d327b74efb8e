package cache

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/units"
)

func TestMissThenHit(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"))
	r := f.get("/a")
	if r.code != 200 || r.xcache() != Miss || r.body != "answer 1" {
		t.Fatalf("first: %d %s %q", r.code, r.xcache(), r.body)
	}
	f.clock.Advance(5 * time.Second)
	r = f.get("/a")
	if r.code != 200 || r.xcache() != Hit || r.body != "answer 1" || r.header.Get("Age") != "5" {
		t.Fatalf("second: %d %s %q Age=%q", r.code, r.xcache(), r.body, r.header.Get("Age"))
	}
	if r.header.Get("Content-Length") != "8" || r.header.Get("Cache-Control") != "max-age=60" {
		t.Fatalf("stored header: %v", r.header)
	}
	f.clock.Advance(60 * time.Second) // 65s old: expired, no stale windows
	if r = f.get("/a"); r.xcache() != Miss || r.body != "answer 2" {
		t.Fatalf("after max-age: %s %q", r.xcache(), r.body)
	}
	if n := f.back.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d, want 2", n)
	}
}

func TestKey(t *testing.T) {
	f := newFixture(t, Policy{QueryParams: []string{"page", "lang"}}, counter("Cache-Control", "max-age=60"))
	f.get("/list?page=1&lang=en&utm=x")
	for _, tc := range []struct {
		path, want string
	}{
		{"/list?lang=en&page=1", Hit},              // sorted
		{"/list?page=1&lang=en&utm=y", Hit},        // utm is not part of the key
		{"/list?page=2&lang=en", Miss},             // page is
		{"/list", Miss},                            // no query
		{"/LIST?page=1&lang=en", Miss},             // paths are case-sensitive
		{"/list?page=1&lang=en&page=1", Miss},      // repeated values count
		{"/list?page=1&lang=en&bad=%zz", "bypass"}, // malformed query: not cached
	} {
		r := f.get(tc.path)
		got := r.xcache()
		if got == "" {
			got = "bypass"
		}
		if got != tc.want {
			t.Errorf("%s: X-Cache %q, want %q", tc.path, got, tc.want)
		}
	}
	// HEAD is cached separately, and gets no body.
	if r := f.do(context.Background(), "HEAD", "/list?page=1&lang=en"); r.xcache() != Miss || r.body != "" {
		t.Fatalf("HEAD: %s %q", r.xcache(), r.body)
	}
	if r := f.do(context.Background(), "HEAD", "/list?page=1&lang=en"); r.xcache() != Hit || r.body != "" || r.header.Get("Content-Length") == "" {
		t.Fatalf("HEAD again: %s %q %v", r.xcache(), r.body, r.header)
	}
}

func TestIgnoreQuery(t *testing.T) {
	f := newFixture(t, Policy{IgnoreQuery: true}, counter("Cache-Control", "max-age=60"))
	f.get("/x?a=1")
	if r := f.get("/x?b=2"); r.xcache() != Hit {
		t.Fatalf("X-Cache %s", r.xcache())
	}
}

// Answers the cache must not store, and request directives it honours.
func TestNotStored(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		header []string // response header
		req    []string // request header
		status int
		want   string // X-Cache of the second request ("" = bypass)
	}{
		{name: "no-store", header: []string{"Cache-Control", "no-store, max-age=60"}, want: Miss},
		{name: "private", header: []string{"Cache-Control", "private, max-age=60"}, want: Miss},
		{name: "no-cache", header: []string{"Cache-Control", "no-cache, max-age=60"}, want: Miss},
		{name: "no freshness", header: nil, want: Miss},
		{name: "max-age=0", header: []string{"Cache-Control", "max-age=0"}, want: Miss},
		{name: "vary star", header: []string{"Cache-Control", "max-age=60", "Vary", "*"}, want: Miss},
		{name: "set-cookie", header: []string{"Cache-Control", "max-age=60", "Set-Cookie", "s=1"}, want: Miss},
		{name: "status 500", header: []string{"Cache-Control", "max-age=60"}, status: 500, want: Miss},
		{name: "status 302", header: []string{"Cache-Control", "max-age=60"}, status: 302, want: Miss},
		{name: "expired Expires", header: []string{"Expires", "Thu, 01 Jan 1970 00:00:00 GMT"}, want: Miss},
		{name: "invalid Expires", header: []string{"Expires", "0"}, want: Miss},
		{name: "client no-store", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cache-Control", "no-store"}, want: ""},
		{name: "client no-cache", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cache-Control", "no-cache"}, want: Miss},
		{name: "client pragma", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Pragma", "no-cache"}, want: Miss},
		{name: "client max-age=0", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cache-Control", "max-age=0"}, want: Miss},
		{name: "range", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Range", "bytes=0-1"}, want: ""},
		{name: "authorization", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Authorization", "Bearer x"}, want: ""},
		{name: "cookie", header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cookie", "session=1"}, want: ""},
		{name: "authorization allowed, not public", policy: Policy{AllowAuthorization: true},
			header: []string{"Cache-Control", "max-age=60"}, req: []string{"Authorization", "Bearer x"}, want: Miss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := counter(tc.header...)
			if tc.status != 0 {
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Location", "/elsewhere")
					for i := 0; i+1 < len(tc.header); i += 2 {
						w.Header().Add(tc.header[i], tc.header[i+1])
					}
					w.WriteHeader(tc.status)
				}
			}
			f := newFixture(t, tc.policy, h)
			f.get("/r", tc.req...)
			r := f.get("/r", tc.req...)
			if r.xcache() != tc.want {
				t.Fatalf("second request: X-Cache %q, want %q", r.xcache(), tc.want)
			}
			if n := f.back.calls.Load(); n != 2 {
				t.Fatalf("backend calls = %d, want 2", n)
			}
		})
	}
}

func TestStored(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		header []string
		req    []string
	}{
		{name: "s-maxage", header: []string{"Cache-Control", "s-maxage=60, max-age=0"}},
		{name: "Expires", header: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT", "Date", "Wed, 02 Jan 2030 03:04:05 GMT"}},
		{name: "ttl overrides max-age=0", policy: Policy{TTL: units.Duration(time.Minute)}, header: []string{"Cache-Control", "max-age=0"}},
		{name: "default ttl", policy: Policy{DefaultTTL: units.Duration(time.Minute)}},
		{name: "public with authorization", policy: Policy{AllowAuthorization: true},
			header: []string{"Cache-Control", "public, max-age=60"}, req: []string{"Authorization", "Bearer x"}},
		{name: "ignored client no-cache", policy: Policy{IgnoreClientCacheControl: true},
			header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cache-Control", "no-cache"}},
		{name: "404", header: []string{"Cache-Control", "max-age=60", "X-Status", "404"}},
		{name: "cookie allowed", policy: Policy{AllowCookie: true},
			header: []string{"Cache-Control", "max-age=60"}, req: []string{"Cookie", "theme=dark"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := counter(tc.header...)
			if tc.name == "404" {
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
					http.NotFound(w, r)
				}
			}
			f := newFixture(t, tc.policy, h)
			f.get("/r", tc.req...)
			f.clock.Advance(30 * time.Second)
			if r := f.get("/r", tc.req...); r.xcache() != Hit {
				t.Fatalf("second request: X-Cache %q", r.xcache())
			}
			if n := f.back.calls.Load(); n != 1 {
				t.Fatalf("backend calls = %d, want 1", n)
			}
		})
	}
}

func TestSetCookieAllowed(t *testing.T) {
	f := newFixture(t, Policy{AllowSetCookie: true}, counter("Cache-Control", "max-age=60", "Set-Cookie", "session=alice"))
	if r := f.get("/c"); r.xcache() != Miss || r.header.Get("Set-Cookie") != "session=alice" {
		t.Fatalf("first: %s %v", r.xcache(), r.header)
	}
	// Stored, but without the cookie: it went to the first client only.
	if r := f.get("/c"); r.xcache() != Hit || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("second: %s %v", r.xcache(), r.header)
	}
}

func TestVary(t *testing.T) {
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "accept-language")
		io.WriteString(w, "hello in "+r.Header.Get("Accept-Language"))
	})
	for _, step := range []struct{ lang, xcache string }{
		{"en", Miss}, {"fr", Miss}, {"en", Hit}, {"fr", Hit}, {"", Miss}, {"", Hit}, {" fr ", Hit},
	} {
		r := f.get("/greet", "Accept-Language", step.lang)
		want := "hello in " + strings.TrimSpace(step.lang)
		if r.xcache() != step.xcache || r.body != want {
			t.Fatalf("lang %q: %s %q, want %s %q", step.lang, r.xcache(), r.body, step.xcache, want)
		}
	}
	if n := f.back.calls.Load(); n != 3 {
		t.Fatalf("backend calls = %d, want 3", n)
	}
}

// A Vary comparison ignores the optional whitespace around commas (RFC
// 9111 §4.1): "en, fr" and "en,fr" are one variant, not a miss each.
func TestVaryWhitespaceAroundCommas(t *testing.T) {
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "langs")
	})
	for _, step := range []struct{ lang, xcache string }{
		{"en, fr", Miss}, {"en,fr", Hit}, {" en ,\tfr ", Hit}, {"fr,en", Miss},
	} {
		lang := step.lang
		if r := f.get("/langs", "Accept-Language", lang); r.xcache() != step.xcache {
			t.Fatalf("lang %q: %s, want %s", lang, r.xcache(), step.xcache)
		}
	}
	if n := f.back.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d, want 2", n)
	}
}

// Answers to authenticated requests are stored per consumer: one consumer
// never gets another's.
func TestPerConsumer(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "private data of "+r.Header.Get("X-Consumer-Id"))
	}
	f := newFixture(t, Policy{}, echo)
	for _, step := range []struct{ who, xcache string }{
		{"alice", Miss}, {"bob", Miss}, {"alice", Hit}, {"bob", Hit}, {"", Miss}, {"", Hit}, {"carol", Miss},
	} {
		var hdr []string
		if step.who != "" {
			hdr = []string{"X-Test-Consumer", step.who}
		}
		r := f.get("/me", hdr...)
		if want := "private data of " + step.who; r.body != want || r.xcache() != step.xcache {
			t.Fatalf("%q got %s %q, want %s %q", step.who, r.xcache(), r.body, step.xcache, want)
		}
	}

	// Concurrent misses of different consumers are not coalesced either.
	release := make(chan struct{})
	f.back.set(func(w http.ResponseWriter, r *http.Request) {
		<-release
		echo(w, r)
	})
	var wg sync.WaitGroup
	got := make([]result, 20)
	for i := range got {
		wg.Go(func() { got[i] = f.get("/slow", "X-Test-Consumer", "c"+itoa(int64(i%4))) })
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, r := range got {
		if want := "private data of c" + itoa(int64(i%4)); r.body != want {
			t.Fatalf("request %d got %q, want %q", i, r.body, want)
		}
	}

	off := newFixture(t, Policy{Authenticated: NoCache}, echo)
	off.get("/me", "X-Test-Consumer", "alice")
	if r := off.get("/me", "X-Test-Consumer", "alice"); r.xcache() != "" {
		t.Fatalf("authenticated: off: X-Cache %q", r.xcache())
	}
	if r := off.get("/me"); r.xcache() != Miss {
		t.Fatalf("anonymous with authenticated: off: X-Cache %q", r.xcache())
	}
}

// 100 concurrent identical misses make exactly one upstream call, and all
// get its answer.
func TestCoalescing(t *testing.T) {
	release := make(chan struct{})
	h := counter("Cache-Control", "max-age=60")
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		h(w, r)
	})
	const n = 100
	var wg sync.WaitGroup
	got := make([]result, n)
	for i := range n {
		wg.Go(func() { got[i] = f.get("/popular") })
	}
	// Let the requests arrive; any that arrive after the answer are hits,
	// so the count below does not depend on this timing.
	waitFor(t, func() bool { return f.back.calls.Load() == 1 })
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if c := f.back.calls.Load(); c != 1 {
		t.Fatalf("backend calls = %d, want 1", c)
	}
	misses := 0
	for i, r := range got {
		if r.code != 200 || r.body != "answer 1" {
			t.Fatalf("request %d: %d %q", i, r.code, r.body)
		}
		if r.xcache() == Miss {
			misses++
		}
	}
	if misses != 1 {
		t.Fatalf("%d MISS answers, want 1", misses)
	}
}

// A waiter whose client goes away does not cancel the shared call, and
// neither does the leader's client going away.
func TestCoalescingClientsLeave(t *testing.T) {
	release := make(chan struct{})
	h := counter("Cache-Control", "max-age=60")
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			t.Error("the shared upstream call was cancelled")
			return
		}
		h(w, r)
	})
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	waiterCtx, cancelWaiter := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	doCancelled := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.front.URL+"/shared", nil)
		resp, err := f.front.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}
	go doCancelled(leaderCtx)
	waitFor(t, func() bool { return f.back.calls.Load() == 1 })
	go doCancelled(waiterCtx)
	var wg sync.WaitGroup
	got := make([]result, 5)
	for i := range got {
		wg.Go(func() { got[i] = f.get("/shared") })
	}
	time.Sleep(100 * time.Millisecond)
	cancelLeader()
	cancelWaiter()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled client: %v", err)
		}
	}
	time.Sleep(50 * time.Millisecond) // the cancellations reach the server
	close(release)
	wg.Wait()
	for i, r := range got {
		if r.code != 200 || r.body != "answer 1" {
			t.Fatalf("waiter %d: %d %q", i, r.code, r.body)
		}
	}
	if c := f.back.calls.Load(); c != 1 {
		t.Fatalf("backend calls = %d, want 1", c)
	}
	if r := f.get("/shared"); r.xcache() != Hit {
		t.Fatalf("after: X-Cache %s", r.xcache())
	}
}

// An answer that cannot be stored is not given to waiters: they fetch
// their own (a Set-Cookie must reach only the client it was made for).
func TestCoalescingUnshareable(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		mu.Lock()
		n++
		cookie := "s=" + itoa(int64(n))
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Set-Cookie", cookie)
		io.WriteString(w, cookie)
	})
	var wg sync.WaitGroup
	got := make([]result, 5)
	for i := range got {
		wg.Go(func() { got[i] = f.get("/login") })
	}
	waitFor(t, func() bool { return f.back.calls.Load() >= 1 })
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range got {
		if c := r.header.Get("Set-Cookie"); seen[c] || c != r.body {
			t.Fatalf("cookie %q given twice or not matching body %q", c, r.body)
		}
		seen[r.header.Get("Set-Cookie")] = true
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	release := make(chan struct{}, 1)
	h := counter("Cache-Control", "max-age=10, stale-while-revalidate=60")
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		h(w, r)
	})
	release <- struct{}{}
	f.get("/swr")
	f.clock.Advance(20 * time.Second)
	// Stale now: served at once, while exactly one background request
	// refreshes it however many requests see it stale.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if r := f.get("/swr"); r.xcache() != Stale || r.body != "answer 1" || r.header.Get("Age") != "20" {
				t.Errorf("stale: %s %q Age=%s", r.xcache(), r.body, r.header.Get("Age"))
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return f.back.calls.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if c := f.back.calls.Load(); c != 2 {
		t.Fatalf("backend calls = %d, want 2 (one refresh)", c)
	}
	release <- struct{}{}
	waitFor(t, func() bool { return f.get("/swr").xcache() == Hit })
	if r := f.get("/swr"); r.body != "answer 2" || r.header.Get("Age") != "0" {
		t.Fatalf("refreshed: %q Age=%s", r.body, r.header.Get("Age"))
	}
	// Past the window: a plain miss.
	f.clock.Advance(100 * time.Second)
	release <- struct{}{}
	if r := f.get("/swr"); r.xcache() != Miss || r.body != "answer 3" {
		t.Fatalf("past the window: %s %q %v calls=%d", r.xcache(), r.body, r.header, f.back.calls.Load())
	}
	// must-revalidate forbids stale answers even when the route allows them.
	g := newFixture(t, Policy{StaleWhileRevalidate: units.Duration(time.Hour)}, counter("Cache-Control", "max-age=10, must-revalidate"))
	g.get("/mr")
	g.clock.Advance(20 * time.Second)
	if r := g.get("/mr"); r.xcache() != Miss {
		t.Fatalf("must-revalidate: %s", r.xcache())
	}
}

func TestStaleIfError(t *testing.T) {
	f := newFixture(t, Policy{StaleIfError: units.Duration(time.Hour)}, counter("Cache-Control", "max-age=10"))
	f.get("/sie")
	f.clock.Advance(20 * time.Second)
	f.back.set(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	if r := f.get("/sie"); r.code != 200 || r.xcache() != Stale || r.body != "answer 1" {
		t.Fatalf("upstream 503: %d %s %q", r.code, r.xcache(), r.body)
	}
	// The upstream gone altogether: the proxy answers 502, the cache the
	// stale copy.
	f.back.Close()
	if r := f.get("/sie"); r.code != 200 || r.xcache() != Stale || r.body != "answer 1" {
		t.Fatalf("upstream down: %d %s %q", r.code, r.xcache(), r.body)
	}
	// Beyond the window the error goes through.
	f.clock.Advance(2 * time.Hour)
	if r := f.get("/sie"); r.code != http.StatusBadGateway || r.xcache() != Miss {
		t.Fatalf("past the window: %d %s", r.code, r.xcache())
	}
}

func TestMaxObjectSize(t *testing.T) {
	big := strings.Repeat("x", 3000)
	f := newFixture(t, Policy{MaxObjectSize: 1000}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", "3000")
		}
		for i := 0; i < len(big); i += 500 {
			io.WriteString(w, big[i:i+500])
			w.(http.Flusher).Flush()
		}
	})
	for _, path := range []string{"/big", "/big?chunked=1"} {
		for range 2 {
			if r := f.get(path); r.xcache() != Miss || r.body != big {
				t.Fatalf("%s: %s, %d bytes", path, r.xcache(), len(r.body))
			}
		}
	}
}

func TestConditional(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60", "ETag", `"v1"`, "Last-Modified", "Tue, 01 Jan 2030 00:00:00 GMT"))
	// The leader's validators are answered by the cache, not sent upstream,
	// so the store gets a full answer.
	if r := f.get("/e", "If-None-Match", `W/"v1"`); r.code != 304 || r.xcache() != Miss {
		t.Fatalf("first: %d %s", r.code, r.xcache())
	}
	for _, tc := range []struct {
		header []string
		code   int
	}{
		{[]string{"If-None-Match", `"v1"`}, 304},
		{[]string{"If-None-Match", `"v0", "v1"`}, 304},
		{[]string{"If-None-Match", `*`}, 304},
		{[]string{"If-None-Match", `"v2"`}, 200},
		{[]string{"If-None-Match", `"v2"`, "If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT"}, 200},
		{[]string{"If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT"}, 304},
		{[]string{"If-Modified-Since", "Mon, 31 Dec 2029 00:00:00 GMT"}, 200},
	} {
		r := f.get("/e", tc.header...)
		if r.code != tc.code || r.xcache() != Hit {
			t.Errorf("%v: %d %s, want %d", tc.header, r.code, r.xcache(), tc.code)
		}
		if tc.code == 200 && r.body != "answer 1" {
			t.Errorf("%v: body %q", tc.header, r.body)
		}
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"))
	f.get("/doc?v=1")
	f.get("/doc?v=1", "X-Test-Consumer", "alice")
	if r := f.do(context.Background(), "PUT", "/doc?v=1", "X-Test-Consumer", "alice", "Cookie", "s=1"); r.code != 200 || r.xcache() != "" {
		t.Fatalf("PUT: %d %s", r.code, r.xcache())
	}
	if r := f.get("/doc?v=1"); r.xcache() != Miss {
		t.Fatalf("shared copy after PUT: %s", r.xcache())
	}
	if r := f.get("/doc?v=1", "X-Test-Consumer", "alice"); r.xcache() != Miss {
		t.Fatalf("alice's copy after PUT: %s", r.xcache())
	}
}

func TestPurgePrefix(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"))
	for _, p := range []string{"/users/1", "/users/2?x=1", "/users/3", "/orders/1"} {
		f.get(p)
	}
	f.get("/users/1", "X-Test-Consumer", "alice")
	host := strings.TrimPrefix(f.front.URL, "http://")
	if n := f.store.PurgePrefix(host + "/users/2"); n != 1 {
		t.Fatalf("purged %d keys by host+path, want 1", n)
	}
	if n := f.store.PurgePrefix("/users/"); n != 3 {
		t.Fatalf("purged %d keys by path, want 3 (two users, alice's copy)", n)
	}
	if r := f.get("/users/1"); r.xcache() != Miss {
		t.Fatalf("purged: %s", r.xcache())
	}
	if r := f.get("/orders/1"); r.xcache() != Hit {
		t.Fatalf("not purged: %s", r.xcache())
	}
	if n := f.store.PurgePrefix(""); n != 2 || f.store.Len() != 0 {
		t.Fatalf("purge all: %d, %d left", n, f.store.Len())
	}
}

func TestByteBudget(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(StoreOptions{MaxBytes: 64 << 10}, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := New(s, Policy{MaxObjectSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("b", 8<<10)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, body)
	})
	h := c.Middleware(newProxy(t, b))
	for i := range 40 {
		rec := serve(h, "GET", "/obj/"+itoa(int64(i)))
		if rec.Code != 200 || rec.Body.Len() != len(body) {
			t.Fatalf("request %d: %d, %d bytes", i, rec.Code, rec.Body.Len())
		}
	}
	s.c.CleanUp()
	if got := s.Bytes(); got > 64<<10 || got == 0 {
		t.Fatalf("store holds %d bytes, budget %d", got, 64<<10)
	}
	if ev := testutil.ToFloat64(m.evictions.WithLabelValues(unmatched, "size")); ev < 30 {
		t.Fatalf("evictions = %v, want at least 30", ev)
	}
	// The gauges agree with the store (once maintenance has settled).
	waitFor(t, func() bool {
		s.c.CleanUp()
		return int64(testutil.ToFloat64(m.bytes.WithLabelValues(unmatched))) == s.Bytes() &&
			int(testutil.ToFloat64(m.objects.WithLabelValues(unmatched))) == s.Len()
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registered twice")
	}
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=10, stale-while-revalidate=10"), WithMetrics(m))
	f.get("/m")
	f.get("/m")
	f.clock.Advance(15 * time.Second)
	f.get("/m")
	f.do(context.Background(), "GET", "/m", "Range", "bytes=0-1")
	route := unmatched
	for result, want := range map[string]float64{ResultMiss: 1, ResultHit: 1, ResultStale: 1, ResultBypass: 1} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(route, result)); got != want {
			t.Errorf("%s = %v, want %v", result, got, want)
		}
	}
	// Route labels are bounded.
	for i := range MaxRouteLabels + 10 {
		m.count("r"+itoa(int64(i)), ResultHit)
	}
	if n := m.routes.Len(); n != MaxRouteLabels+1 {
		t.Fatalf("%d route series, want %d", n, MaxRouteLabels+1)
	}
	// The fixture's route took one place: 11 names did not get one.
	if got := testutil.ToFloat64(m.requests.WithLabelValues(OtherRoute, ResultHit)); got != 11 {
		t.Fatalf("other = %v", got)
	}
}

// unmatched is the route label of requests served outside a route table,
// as in these tests.
const unmatched = outcome.Unmatched

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An upstream that compresses by Accept-Encoding without saying Vary
// (nginx's gzip_vary is off by default) must not have its gzip body
// served to a client that accepts no gzip — such as a transform client
// type, which asks for identity. The coding makes the answer vary on
// Accept-Encoding whatever the header says.
func TestContentEncodingVariesOnAcceptEncoding(t *testing.T) {
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			io.WriteString(gz, `{"a":1}`)
			gz.Close()
			return
		}
		io.WriteString(w, `{"a":1}`)
	})
	if r := f.get("/j", "Accept-Encoding", "gzip"); r.xcache() != Miss || r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip client: %s %v", r.xcache(), r.header)
	}
	r := f.get("/j", "Accept-Encoding", "identity")
	if r.header.Get("Content-Encoding") != "" || r.body != `{"a":1}` {
		t.Fatalf("identity client got X-Cache %s, Content-Encoding %q, body %q", r.xcache(), r.header.Get("Content-Encoding"), r.body)
	}
	// The identity answer replaced the gzip one: it serves both clients.
	for _, ae := range []string{"identity", "gzip", "br;q=1, gzip;q=0"} {
		if r := f.get("/j", "Accept-Encoding", ae); r.xcache() != Hit || r.header.Get("Content-Encoding") != "" || r.body != `{"a":1}` {
			t.Fatalf("%s client: %s %q %q", ae, r.xcache(), r.header.Get("Content-Encoding"), r.body)
		}
	}
	if n := f.back.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d, want 2", n)
	}
}

// An upstream that encodes whatever the request accepts (objects stored
// compressed, as on S3) gives every client the same bytes: its answer is
// not held back from clients that did not ask for the coding — they get
// it from the store as they would from the upstream.
func TestContentEncodingRegardlessOfRequest(t *testing.T) {
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "already gzip")
	})
	for i, want := range []string{Miss, Hit, Hit} {
		if r := f.get("/s3", "Accept-Encoding", "identity"); r.xcache() != want || r.body != "already gzip" {
			t.Fatalf("request %d: %s %q, want %s", i, r.xcache(), r.body, want)
		}
	}
	if n := f.back.calls.Load(); n != 1 {
		t.Fatalf("backend calls = %d, want 1", n)
	}
}

// The coding check reads Accept-Encoding as RFC 9110 §12.5.3 does.
func TestAcceptsCodings(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		coding string
		want   bool
	}{
		{nil, "", true},
		{nil, "gzip", false},
		{[]string{"gzip"}, "gzip", true},
		{[]string{"GZIP"}, "gzip", true},
		{[]string{"x-gzip"}, "gzip", true},
		{[]string{"gzip"}, "x-gzip", true},
		{[]string{"br, gzip;q=0.5"}, "gzip", true},
		{[]string{"br", "gzip"}, "gzip", true},
		{[]string{"gzip;q=0"}, "gzip", false},
		{[]string{"gzip;q=0.000"}, "gzip", false},
		{[]string{"gzip;q=x"}, "gzip", false},
		{[]string{"*"}, "gzip", true},
		{[]string{"*, gzip;q=0"}, "gzip", false},
		{[]string{"*;q=0"}, "gzip", false},
		{[]string{"identity"}, "gzip", false},
		{[]string{"identity"}, "identity", true},
		{[]string{"gzip"}, "gzip, br", false},
		{[]string{"gzip, br"}, "gzip, br", true},
	} {
		if got := acceptsCodings(tc.accept, tc.coding); got != tc.want {
			t.Errorf("accept %q, coding %q: %v, want %v", tc.accept, tc.coding, got, tc.want)
		}
	}
}

// Every request the cache sees is counted, unsafe methods included (as
// bypass: they pass through), so requests_total is the route's traffic.
func TestMetricsCountUnsafe(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"), WithMetrics(m))
	f.do(context.Background(), "POST", "/m")
	f.do(context.Background(), "DELETE", "/m")
	if got := testutil.ToFloat64(m.requests.WithLabelValues(unmatched, ResultBypass)); got != 2 {
		t.Fatalf("bypass = %v, want 2", got)
	}
}

// Once the leader's answer turns out not to be storable, its waiters are
// released at once to fetch their own: they do not wait for the rest of
// the leader's body, which may be a stream that ends when its client
// leaves. The leader's upstream handler holds its stream open until the
// second request reaches the upstream (or 10 s pass).
func TestCoalescingReleasesWaitersOfUnstorableStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		header []string
		first  string // written and flushed before the stream waits
	}{
		{name: "no-store", header: []string{"Cache-Control", "no-store"}, first: "data: 1\n\n"},
		{name: "private", header: []string{"Cache-Control", "private, max-age=60"}, first: "data: 1\n\n"},
		{name: "over max_object_size", policy: Policy{MaxObjectSize: 1000},
			header: []string{"Cache-Control", "max-age=60"}, first: strings.Repeat("x", 1500)},
		// An event stream does not end while its client stays: it is never
		// stored, even when the route's ttl would give it a lifetime.
		{name: "event stream under ttl", policy: Policy{TTL: units.Duration(time.Minute)}, first: "data: 1\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := make(chan struct{})
			second := make(chan struct{})
			var n sync.Mutex
			calls := 0
			f := newFixture(t, tc.policy, func(w http.ResponseWriter, r *http.Request) {
				n.Lock()
				calls++
				first := calls == 1
				n.Unlock()
				for i := 0; i+1 < len(tc.header); i += 2 {
					w.Header().Set(tc.header[i], tc.header[i+1])
				}
				w.Header().Set("Content-Type", "text/event-stream")
				if !first {
					close(second)
					io.WriteString(w, "own answer")
					return
				}
				<-header
				io.WriteString(w, tc.first)
				w.(http.Flusher).Flush()
				select {
				case <-second:
					io.WriteString(w, "|second arrived")
				case <-time.After(10 * time.Second):
					io.WriteString(w, "|second never arrived")
				case <-r.Context().Done():
				}
			})
			var wg sync.WaitGroup
			var leader, waiter result
			wg.Go(func() { leader = f.get("/events") })
			waitFor(t, func() bool { n.Lock(); defer n.Unlock(); return calls == 1 })
			wg.Go(func() { waiter = f.get("/events") })
			time.Sleep(100 * time.Millisecond) // the second request joins the flight
			close(header)
			wg.Wait()
			if !strings.HasSuffix(leader.body, "|second arrived") {
				t.Fatalf("leader's stream ended with %q: the waiter was held until it ended", leader.body[max(0, len(leader.body)-30):])
			}
			if waiter.body != "own answer" || waiter.xcache() != Miss {
				t.Fatalf("waiter: %s %q", waiter.xcache(), waiter.body)
			}
		})
	}
}

// An event stream's upstream call ends when its client leaves, even on a
// route whose ttl would otherwise keep it going for the store.
func TestEventStreamEndsWithItsClient(t *testing.T) {
	ended := make(chan string, 1)
	f := newFixture(t, Policy{TTL: units.Duration(time.Minute)}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			ended <- "cancelled"
		case <-time.After(10 * time.Second):
			ended <- "still running 10 s after its client left"
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.front.URL+"/events", nil)
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, len("data: 1\n\n"))); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	if got := <-ended; got != "cancelled" {
		t.Fatalf("upstream call: %s", got)
	}
}

// A reload that changes the byte budget replaces the store and closes the
// old one: its answers must leave the stored_bytes and stored_objects
// gauges, or they count twice (old store and new) until the process ends.
// Requests still in flight on the old route table store nothing more.
func TestCloseEmptiesGauges(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"), WithMetrics(m))
	f.get("/a")
	f.get("/b")
	gauges := func() (float64, float64) {
		f.store.c.CleanUp()
		return testutil.ToFloat64(m.bytes.WithLabelValues(unmatched)), testutil.ToFloat64(m.objects.WithLabelValues(unmatched))
	}
	if b, o := gauges(); b == 0 || o != 2 {
		t.Fatalf("before Close: bytes %v, objects %v", b, o)
	}
	f.store.Close()
	if b, o := gauges(); b != 0 || o != 0 {
		t.Fatalf("after Close: bytes %v, objects %v, want 0 and 0", b, o)
	}
	if r := f.get("/c"); r.code != 200 || r.body != "answer 3" {
		t.Fatalf("closed store: %d %q", r.code, r.body)
	}
	if b, o := gauges(); b != 0 || o != 0 || f.store.Len() != 0 {
		t.Fatalf("a request after Close: bytes %v, objects %v, %d keys", b, o, f.store.Len())
	}
}

// A reload keeps the store, and may change how a route's keys are made.
// An answer stored under the old rule must not answer a request the new
// rule tells apart: with ignore_query, "/x?page=5" was stored under "/x";
// once the query counts again, "/x" is another resource.
func TestReloadChangesKeyRule(t *testing.T) {
	for _, tc := range []struct {
		name           string
		before, after  Policy
		stored, second string
		want           string   // X-Cache of second after the reload
		header         []string // of the first request
	}{
		{"ignore_query dropped", Policy{IgnoreQuery: true}, Policy{}, "/x?page=5", "/x", Miss, nil},
		{"query_params widened", Policy{QueryParams: []string{"page"}}, Policy{}, "/x?page=1&lang=fr", "/x?page=1", Miss, nil},
		{"query_params changed", Policy{QueryParams: []string{"page"}}, Policy{QueryParams: []string{"page", "lang"}}, "/x?page=1&lang=fr", "/x?page=1", Miss, nil},
		// The same rule (the names in another order), other options
		// changed: the answers stay.
		{"same rule", Policy{QueryParams: []string{"page", "lang"}}, Policy{QueryParams: []string{"lang", "page"}, TTL: units.Duration(time.Hour)},
			"/x?page=1&lang=fr", "/x?lang=fr&page=1", Hit, nil},
		// allow_cookie trusted the upstream to mark personalised answers;
		// an operator who turns it off no longer does, and the answers
		// fetched with a session must not reach other clients.
		{"allow_cookie dropped", Policy{AllowCookie: true}, Policy{}, "/x", "/x", Miss, []string{"Cookie", "session=alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.before, counter("Cache-Control", "max-age=60"))
			reloaded, err := New(f.store, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			// One server whose handler the "reload" swaps, so that the
			// requests keep their Host.
			var h atomic.Pointer[http.Handler]
			before := f.cache.Middleware(newProxy(t, f.back))
			h.Store(&before)
			f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
			t.Cleanup(f.front.Close)
			if r := f.get(tc.stored, tc.header...); r.body != "answer 1" || r.xcache() != Miss {
				t.Fatalf("before: %s %q", r.xcache(), r.body)
			}
			after := reloaded.Middleware(newProxy(t, f.back))
			h.Store(&after)
			if r := f.get(tc.second); r.xcache() != tc.want {
				t.Fatalf("%s after the reload: X-Cache %s %q, want %s", tc.second, r.xcache(), r.body, tc.want)
			}
			if tc.want == Miss {
				if r := f.get(tc.second); r.xcache() != Hit || r.body != "answer 2" {
					t.Fatalf("again: %s %q", r.xcache(), r.body)
				}
			}
		})
	}
}

// The leader's upstream call outlives its client only for the waiters. A
// call that hangs (a black-holed connection, no route timeout) after its
// client gave up, with nobody waiting, must end: otherwise every later
// request for the URL joins it and waits for as long as its own client
// is patient, and the URL is dead for good although the upstream answers
// new calls.
func TestAbandonedLeaderDoesNotHoldTheKey(t *testing.T) {
	hung := make(chan string, 1)
	var calls atomic.Int64
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "fresh call")
			return
		}
		select {
		case <-r.Context().Done():
			hung <- "ended"
		case <-time.After(10 * time.Second):
			hung <- "still hanging 10 s after its client left"
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", f.front.URL+"/hangs", nil)
		if resp, err := f.front.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, func() bool { return calls.Load() == 1 })
	cancel() // the first client gives up
	<-done
	if got := <-hung; got != "ended" {
		t.Fatalf("the abandoned upstream call: %s", got)
	}
	if r := f.get("/hangs"); r.code != 200 || r.body != "fresh call" {
		t.Fatalf("next request: %d %q", r.code, r.body)
	}
}

// With waiters still patient, a hung call whose leader's client gave up
// must not take in every new request for the URL: under steady traffic
// the waiters never run out, and the URL would stay dead although the
// upstream answers new calls. A request arriving after the leader's
// client left makes a call of its own.
func TestNewRequestsDoNotJoinAnAbandonedLeader(t *testing.T) {
	third := make(chan struct{})
	hung := make(chan string, 1)
	var calls atomic.Int64
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			if r.Header.Get("X-Request") == "third" {
				close(third)
			}
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "fresh call")
			return
		}
		select {
		case <-third:
			hung <- "a later request made its own call"
		case <-time.After(10 * time.Second):
			hung <- "no later request reached the upstream in 10 s"
		}
	})
	leaderCtx, leave := context.WithCancel(context.Background())
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		req, _ := http.NewRequestWithContext(leaderCtx, "GET", f.front.URL+"/hangs", nil)
		if resp, err := f.front.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, func() bool { return calls.Load() == 1 })
	var wg sync.WaitGroup
	var waiter result
	wg.Go(func() { waiter = f.get("/hangs") }) // patient: it stays
	time.Sleep(100 * time.Millisecond)         // the waiter joins the flight
	leave()
	<-leaderDone
	time.Sleep(50 * time.Millisecond) // the server sees the leader's client gone
	r := f.get("/hangs", "X-Request", "third")
	if got := <-hung; got != "a later request made its own call" {
		t.Fatalf("%s (third request: %d %q)", got, r.code, r.body)
	}
	if r.code != 200 || r.body != "fresh call" {
		t.Fatalf("third request: %d %q", r.code, r.body)
	}
	wg.Wait()
	if waiter.code != 200 {
		t.Fatalf("waiter: %d %q", waiter.code, waiter.body)
	}
}

// A leader's call that hangs while its client waits on (a client without
// a timeout, no route timeout) must not take every other client of the
// URL with it: a waiter stops waiting after coalesce_timeout and makes a
// call of its own, which the upstream answers.
func TestCoalesceTimeout(t *testing.T) {
	second := make(chan struct{})
	hung := make(chan string, 1)
	var calls atomic.Int64
	f := newFixture(t, Policy{CoalesceTimeout: units.Duration(100 * time.Millisecond)}, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			close(second)
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "own call")
			return
		}
		select {
		case <-second:
			hung <- "the waiter made its own call"
		case <-time.After(10 * time.Second):
			hung <- "the waiter did not reach the upstream in 10 s"
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "late answer")
	})
	var wg sync.WaitGroup
	var leader, waiter result
	wg.Go(func() { leader = f.get("/slow") }) // a patient client
	waitFor(t, func() bool { return calls.Load() == 1 })
	wg.Go(func() { waiter = f.get("/slow") })
	if got := <-hung; got != "the waiter made its own call" {
		t.Fatal(got)
	}
	wg.Wait()
	if waiter.body != "own call" || leader.body != "late answer" {
		t.Fatalf("waiter %q, leader %q", waiter.body, leader.body)
	}
}
