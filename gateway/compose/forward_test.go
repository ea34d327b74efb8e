package compose

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestConditionalHeadersNotForwarded: a composite answer is a document of
// the gateway's own, so the client's validators and ranges describe
// nothing a backend has. Forwarded, a backend that honours them answers
// 304, 412 or 206, and the client got a 502.
func TestConditionalHeadersNotForwarded(t *testing.T) {
	var got atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Clone())
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			jsonHandler(0, `{"id":"o1"}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "order", Upstream: "orders", Path: "/orders/1"}}})
	code, _, doc := serve(t, p, "/o", "/o", "If-None-Match", `"v1"`, "If-Modified-Since", "Sat, 28 Nov 2026 10:00:00 GMT",
		"If-Match", `"v0"`, "If-Unmodified-Since", "Sat, 28 Nov 2026 10:00:00 GMT", "If-Range", `"v1"`, "Range", "bytes=0-1",
		"X-Tenant", "t1")
	if code != http.StatusOK || doc["id"] != "o1" {
		t.Fatalf("%d %v, want 200 with the order", code, doc)
	}
	h := got.Load().(http.Header)
	for _, name := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"} {
		if v := h.Get(name); v != "" {
			t.Errorf("the call got %s: %q", name, v)
		}
	}
	if h.Get("X-Tenant") != "t1" {
		t.Errorf("an end-to-end header was not forwarded: %v", h)
	}
}

// TestForwardBodyBounded: a call with forward_body reads the client's body
// into memory, so it is bounded (default 1 MiB) even on a route without
// max_body_bytes: a bigger one is a 413, within the bound it is sent.
func TestForwardBodyBounded(t *testing.T) {
	var got atomic.Int64
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			got.Store(n)
			jsonHandler(0, `{"ok":true}`)(w, r)
		},
	})
	post := func(p *Plan, size int) *httptest.ResponseRecorder {
		r := chi.NewRouter()
		r.Handle("/o", p)
		req := httptest.NewRequest("POST", "/o", io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("x"), size))))
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	call := []Call{{Name: "order", Upstream: "orders", Method: "POST", Path: "/orders", ForwardBody: true}}
	p := mustPlan(t, b, "/o", Composite{Calls: call})
	if rec := post(p, DefaultMaxBodyBytes+1); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "max_body_bytes") {
		t.Fatalf("a body over the default bound: %d %s", rec.Code, rec.Body)
	}
	if rec := post(p, DefaultMaxBodyBytes); rec.Code != http.StatusOK || got.Load() != DefaultMaxBodyBytes {
		t.Fatalf("a body at the bound: %d %s, the call got %d bytes", rec.Code, rec.Body, got.Load())
	}
	small := mustPlan(t, b, "/o", Composite{MaxBodyBytes: 10, Calls: call})
	if rec := post(small, 11); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over max_body_bytes 10: %d %s", rec.Code, rec.Body)
	}
	if errs := (&Composite{MaxBodyBytes: -1, Calls: call}).Validate("/o", []string{"orders"}); len(errs) == 0 || !strings.Contains(errs[0].Error(), "max_body_bytes") {
		t.Fatalf("a negative max_body_bytes: %v", errs)
	}
}
