package cache

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/gatescale/gatescale/internal/interim/interimtest"
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
	var hints interimtest.Recorder
	r := f.do(hints.Context(context.Background()), http.MethodGet, "/p")
	if r.code != 200 || r.body != "page" || r.xcache() != Miss || r.header.Get("Link") != "" {
		t.Fatalf("miss: %d %q %s Link=%q", r.code, r.body, r.xcache(), r.header.Get("Link"))
	}
	if a := hints.Answers(); len(a) != 1 || a[0].Code != http.StatusEarlyHints || a[0].Header.Get("Link") != "</a.css>; rel=preload" {
		t.Errorf("interim answers %v", a)
	}
	if r = f.get("/p"); r.xcache() != Hit || r.body != "page" || r.header.Get("Link") != "" {
		t.Fatalf("hit: %s %q Link=%q", r.xcache(), r.body, r.header.Get("Link"))
	}
}
