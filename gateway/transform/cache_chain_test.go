package transform

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/cache"
)

// The route chain the runtime builds, transform → cache → proxy, with an
// upstream that gzips by Accept-Encoding without saying Vary (nginx's
// default): a web client's gzip answer, stored, must not reach a mobile
// client, whose request asked for identity — it would get 502.
func TestCachedEncodedAnswerAndClientTypes(t *testing.T) {
	store, err := cache.NewStore(cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	c, err := cache.New(store, cache.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	tr := mobileWeb(t)
	srv := front(t, func(h http.Handler) http.Handler { return tr.Middleware(c.Middleware(h)) },
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Type", "application/json")
			body := `{"id":1,"secret":"s","items":[{"id":1},{"id":2},{"id":3}]}`
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				io.WriteString(w, body)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			io.WriteString(gz, body)
			gz.Close()
		})
	if a := get(t, srv, "/doc", "X-Client-Type", "web", "Accept-Encoding", "gzip"); a.code != 200 || a.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("web: %d %v", a.code, a.header)
	}
	a := get(t, srv, "/doc", "X-Client-Type", "mobile", "Accept-Encoding", "gzip")
	if a.code != 200 || a.body != `{"id":1,"items":[{"id":1},{"id":2}]}` {
		t.Fatalf("mobile after web: %d X-Cache %s %q", a.code, a.header.Get(cache.HeaderXCache), a.body)
	}
}
