package cache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkHitVsMiss serves a 1 KiB answer through the cache and the
// gateway's proxy to a loopback backend, from the store (hit) and from the
// backend (miss: every request a new key). It reports both costs and
// their ratio (miss/hit) as metrics.
func BenchmarkHitVsMiss(b *testing.B) {
	body := strings.Repeat("x", 1024)
	back := newBackend(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
	s, err := NewStore(StoreOptions{MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := New(s, Policy{})
	if err != nil {
		b.Fatal(err)
	}
	h := c.Middleware(newProxy(b, back))
	run := func(path func(i int) string, want string) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path(i), nil))
			if rec.Header().Get(HeaderXCache) != want {
				b.Fatalf("X-Cache %q, want %q", rec.Header().Get(HeaderXCache), want)
			}
		}
		return time.Since(start)
	}
	serve(h, "GET", "/hot")
	b.ReportAllocs()
	b.ResetTimer()
	hit := run(func(int) string { return "/hot" }, Hit)
	b.StopTimer()
	miss := run(func(i int) string { return "/cold/" + strconv.Itoa(i) }, Miss)
	b.ReportMetric(float64(hit.Nanoseconds())/float64(b.N), "hit-ns/op")
	b.ReportMetric(float64(miss.Nanoseconds())/float64(b.N), "miss-ns/op")
	b.ReportMetric(float64(miss)/float64(hit), "miss/hit")
}
