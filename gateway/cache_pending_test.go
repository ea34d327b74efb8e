package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/units"
)

// Answers being fetched are buffered for the store: together they stay
// within max_bytes, like the stored ones, or many concurrent misses of
// large answers would hold max_object_size each. An answer that does not
// fit streams through unstored, and is stored once the others are done.
func TestCachePendingBytesBounded(t *testing.T) {
	const kib = 1 << 10
	releaseA := make(chan struct{})
	b := newBackend(t, "big")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("x", 60*kib))
		w.(http.Flusher).Flush() // chunked: the client's body ends after the cache is done
		if r.URL.Path == "/a" {
			<-releaseA
			// Past max_object_size in the end: /a is not stored either.
			io.WriteString(w, strings.Repeat("x", 20*kib))
		}
	})
	c := routeCache(t, cache.StoreOptions{MaxBytes: units.Size(100 * kib)}, cache.Policy{MaxObjectSize: units.Size(70 * kib)})
	_, srv, _ := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "big", Instances: []discovery.Instance{b.instance()}}},
		Routes: []route.Route{{
			Route:      spec.Route{Name: "big", PathPrefix: "/", Upstream: "big"},
			Middleware: []func(http.Handler) http.Handler{c.Middleware},
		}},
	})

	respA, err := http.Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	defer respA.Body.Close()
	// The cache buffers what it sends before sending it: /a's 60 KiB are
	// held for the store now.
	if _, err := io.ReadFull(respA.Body, make([]byte, 60*kib)); err != nil {
		t.Fatal(err)
	}
	// 60 KiB more would make 120 KiB in buffers, over max_bytes.
	if r := do(t, "GET", srv.URL+"/b", nil); len(r.body) != 60*kib || r.header.Get(cache.HeaderXCache) != cache.Miss {
		t.Fatalf("/b while /a is fetched: %d bytes, X-Cache %s", len(r.body), r.header.Get(cache.HeaderXCache))
	}
	close(releaseA)
	if n, err := io.Copy(io.Discard, respA.Body); err != nil || n != 20*kib {
		t.Fatalf("rest of /a: %d bytes, %v", n, err)
	}
	for i, want := range []string{cache.Miss, cache.Hit} {
		if r := do(t, "GET", srv.URL+"/b", nil); len(r.body) != 60*kib || r.header.Get(cache.HeaderXCache) != want {
			t.Fatalf("/b once /a is done (%d): %d bytes, X-Cache %s, want %s", i, len(r.body), r.header.Get(cache.HeaderXCache), want)
		}
	}
	if got := b.hits.Load(); got != 3 {
		t.Fatalf("upstream calls: %d, want 3 (/a, /b unstored, /b stored)", got)
	}
}
