package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A GET whose fetch began before a write to its URL, and whose answer
// arrives after the write was answered and invalidated the URL (or after
// an operator purged it), must not store that pre-write answer: it would
// be served as fresh for its whole lifetime.
func TestCacheFetchAcrossInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, url string, store *cache.Store, set func(string))
	}{
		{"post", func(t *testing.T, url string, _ *cache.Store, _ func(string)) {
			if r := do(t, "POST", url+"/items/1", strings.NewReader("v2")); r.code != http.StatusOK {
				t.Fatalf("POST: %d", r.code)
			}
		}},
		{"purge", func(t *testing.T, url string, store *cache.Store, set func(string)) {
			// The data changed behind the gateway; a deploy hook purges.
			set("v2")
			store.PurgePrefix("/items/")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var version atomic.Pointer[string]
			v1 := "v1"
			version.Store(&v1)
			arrived, release := make(chan struct{}), make(chan struct{})
			var gets atomic.Int64
			b := newBackend(t, "items")
			set := func(v string) { version.Store(&v) }
			b.handle(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					body, _ := io.ReadAll(r.Body)
					set(string(body))
					return
				}
				answer := *version.Load() // read before the write
				if gets.Add(1) == 1 {
					close(arrived)
					<-release
				}
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, answer)
				// Chunked: the client's body ends only when the gateway's
				// handler has returned, after the cache stored the answer.
				w.(http.Flusher).Flush()
			})
			c := routeCache(t, cache.StoreOptions{}, cache.Policy{})
			_, srv, _ := newGateway(t, gateway.Config{
				Upstreams: []gateway.UpstreamSpec{{Name: "items", Instances: []discovery.Instance{b.instance()}}},
				Routes: []route.Route{{
					Route:      spec.Route{Name: "items", PathPrefix: "/", Upstream: "items"},
					Middleware: []func(http.Handler) http.Handler{c.Middleware},
				}},
			})
			first := make(chan response, 1)
			go func() { first <- do(t, "GET", srv.URL+"/items/1", nil) }()
			<-arrived
			tc.write(t, srv.URL, c.Store(), set)
			close(release)
			if r := <-first; r.body != "v1" || r.header.Get(cache.HeaderXCache) != cache.Miss {
				t.Fatalf("first GET: %q %s, want v1 MISS", r.body, r.header.Get(cache.HeaderXCache))
			}
			if r := do(t, "GET", srv.URL+"/items/1", nil); r.body != "v2" {
				t.Fatalf("GET after the write: %q X-Cache %s, want v2 (the answer fetched before the write was stored)", r.body, r.header.Get(cache.HeaderXCache))
			}
		})
	}
}
