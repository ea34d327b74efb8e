package transform

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatescale/gatescale/gateway/cache"
)

// The route chain the runtime builds, transform → cache → proxy, with an
// upstream that gzips by Accept-Encoding without saying Vary (nginx's
// default): a web client's gzip answer, stored, must not reach a mobile
// client, whose request asked for identity — it would get 502.
func TestCachedEncodedAnswerAndClientTypes(t *testing.T) {
	chain := cachedChain(t)
	srv := front(t, chain,
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

// A conditional request of a client type whose answers are shaped, through
// transform → cache → proxy: the upstream's ETag is the validator of the
// upstream's bytes, not of the shaped document, so it must neither be sent
// on a shaped 304 nor make one; and every 304 says the Vary its 200 says
// (RFC 9110 §15.4.5), or a shared cache downstream would hand one client
// type's 304 to another. The upstream is called once: the rest comes from
// the store.
func TestCachedConditionalShaped(t *testing.T) {
	chain := cachedChain(t)
	const lastModified = "Mon, 02 Jan 2006 15:04:05 GMT"
	var calls atomic.Int64
	srv := front(t, chain,
		func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Cache-Control", "max-age=60")
			if r.URL.Path == "/logo.png" {
				w.Header().Set("Content-Type", "image/png")
				w.Header().Set("ETag", `"png1"`)
				io.WriteString(w, "PNG")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", lastModified)
			io.WriteString(w, `{"id":1,"secret":"s","items":[{"id":1},{"id":2},{"id":3}]}`)
		})
	varies := func(h http.Header) bool {
		return strings.Contains(strings.Join(h.Values("Vary"), ","), "X-Client-Type")
	}
	// The unshaped type gets the upstream's validator, and its 304 too.
	if a := get(t, srv, "/doc", "X-Client-Type", "web"); a.code != 200 || a.header.Get("ETag") != `"v1"` || !varies(a.header) {
		t.Fatalf("web: %d %v", a.code, a.header)
	}
	if a := get(t, srv, "/doc", "X-Client-Type", "web", "If-None-Match", `"v1"`); a.code != 304 || a.header.Get("ETag") != `"v1"` || !varies(a.header) {
		t.Fatalf("web 304: %d %v", a.code, a.header)
	}
	// The shaped type: the upstream's tag does not match its document.
	a := get(t, srv, "/doc", "X-Client-Type", "mobile", "If-None-Match", `"v1"`)
	if a.code != 200 || a.body != `{"id":1,"items":[{"id":1},{"id":2}]}` || a.header.Get("ETag") != "" || !varies(a.header) {
		t.Fatalf("mobile with the upstream's tag: %d %v %q", a.code, a.header, a.body)
	}
	// Its date still validates it: a 304 without the upstream's tag, with
	// the Vary of its 200.
	a = get(t, srv, "/doc", "X-Client-Type", "mobile", "If-Modified-Since", lastModified)
	if a.code != 304 || a.header.Get("ETag") != "" || !varies(a.header) {
		t.Fatalf("mobile 304: %d %v", a.code, a.header)
	}
	// "*" is as true of the shaped document as of the upstream's.
	a = get(t, srv, "/doc", "X-Client-Type", "mobile", "If-None-Match", "*")
	if a.code != 304 || a.header.Get("ETag") != "" || !varies(a.header) {
		t.Fatalf("mobile If-None-Match *: %d %v", a.code, a.header)
	}
	// What is never shaped (not JSON) keeps its tag and varies on
	// nothing, for a shaped type too.
	get(t, srv, "/logo.png", "X-Client-Type", "mobile")
	if a := get(t, srv, "/logo.png", "X-Client-Type", "mobile", "If-None-Match", `"png1"`); a.code != 304 || a.header.Get("ETag") != `"png1"` || varies(a.header) {
		t.Fatalf("image 304: %d %v", a.code, a.header)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("upstream calls = %d, want 2 (the document and the image, once each)", n)
	}
}

// cachedChain is the chain the runtime builds for a cached route with
// client types: the mobileWeb transform around a cache with its own store.
func cachedChain(t *testing.T) func(http.Handler) http.Handler {
	t.Helper()
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
	return func(h http.Handler) http.Handler { return tr.Middleware(c.Middleware(h)) }
}
