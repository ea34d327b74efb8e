package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"testing"
)

// TestEarlyHints: a 103 from the upstream reaches the client through the
// cache on a miss, and its fields reach neither the final answer nor the
// stored one.
func TestEarlyHints(t *testing.T) {
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "page")
	})
	var mu sync.Mutex
	var hints []string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		hints = append(hints, http.StatusText(code)+": "+h.Get("Link"))
		return nil
	}})
	r := f.do(ctx, http.MethodGet, "/p")
	if r.code != 200 || r.body != "page" || r.xcache() != Miss || r.header.Get("Link") != "" {
		t.Fatalf("miss: %d %q %s Link=%q", r.code, r.body, r.xcache(), r.header.Get("Link"))
	}
	mu.Lock()
	if len(hints) != 1 || hints[0] != "Early Hints: </a.css>; rel=preload" {
		t.Errorf("interim answers %q", hints)
	}
	mu.Unlock()
	if r = f.get("/p"); r.xcache() != Hit || r.body != "page" || r.header.Get("Link") != "" {
		t.Fatalf("hit: %s %q Link=%q", r.xcache(), r.body, r.header.Get("Link"))
	}
}
