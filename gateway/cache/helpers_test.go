package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// clock is a settable time source for the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// backend is a real loopback server that counts the requests it gets.
type backend struct {
	*httptest.Server
	calls   atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]
}

func newBackend(t testing.TB, h http.HandlerFunc) *backend {
	b := &backend{}
	b.set(h)
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		(*b.handler.Load())(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) set(h http.HandlerFunc) { b.handler.Store(&h) }

// newProxy returns the gateway's own reverse proxy to b.
func newProxy(t testing.TB, b *backend) http.Handler {
	addr := strings.TrimPrefix(b.URL, "http://")
	u := upstream.New("backend", discovery.NewStatic(map[string][]discovery.Instance{"backend": {{Addr: addr}}}))
	u.Start(context.Background())
	t.Cleanup(u.Close)
	<-u.Ready()
	return proxy.New(u)
}

// fixture is a cache in front of a backend, behind a real loopback server.
type fixture struct {
	t     testing.TB
	clock *clock
	store *Store
	cache *Cache
	back  *backend
	front *httptest.Server
}

func newFixture(t testing.TB, p Policy, h http.HandlerFunc, opts ...StoreOption) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	s, err := NewStore(StoreOptions{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.now = f.clock.Now
	t.Cleanup(s.Close)
	f.store = s
	if f.cache, err = New(s, p); err != nil {
		t.Fatal(err)
	}
	f.back = newBackend(t, h)
	f.front = httptest.NewServer(withTestConsumer(f.cache.Middleware(newProxy(t, f.back))))
	t.Cleanup(f.front.Close)
	return f
}

// withTestConsumer stands in for gateway/authn: the X-Test-Consumer header
// becomes the request's consumer.Identity, and the upstream sees it as
// X-Consumer-Id.
func withTestConsumer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-Consumer"); id != "" {
			r = r.WithContext(consumer.NewContext(r.Context(), &consumer.Identity{ConsumerID: id, Method: "test"}))
			r.Header.Del("X-Test-Consumer")
			r.Header.Set("X-Consumer-Id", id)
		}
		next.ServeHTTP(w, r)
	})
}

type result struct {
	code   int
	header http.Header
	body   string
}

func (r result) xcache() string { return r.header.Get(HeaderXCache) }

func (f *fixture) get(path string, header ...string) result {
	f.t.Helper()
	return f.do(context.Background(), http.MethodGet, path, header...)
}

func (f *fixture) do(ctx context.Context, method, path string, header ...string) result {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.front.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	client := *f.front.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

// counter answers with a body that changes on every call, so a test can
// tell a stored answer from a fresh one.
func counter(header ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Add(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "answer "+itoa(n.Add(1)))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// serve runs one request through h in process.
func serve(h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
