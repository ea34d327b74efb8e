package compose

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/units"
)

// TestPrivateCallKeepsMergedAnswerPrivate: one call answers with the
// user's own data marked Cache-Control: private, another with a shareable
// catalogue. The merged answer contains the private data, so it says so:
// a cache in front (here the route's, with default_ttl and allow_cookie,
// which relies on upstreams marking personalised answers) must not serve
// one user's answer to another.
func TestPrivateCallKeepsMergedAnswerPrivate(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"users": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private, max-age=60")
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"user": strings.TrimPrefix(r.Header.Get("Cookie"), "sid=")})
		},
		"catalog": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=3600")
			jsonHandler(0, `{"products":[1,2]}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/me", Composite{Calls: []Call{
		{Name: "me", Upstream: "users", Path: "/me", Headers: map[string]string{"Cookie": "{header.Cookie}"}},
		{Name: "catalog", Upstream: "catalog", Path: "/products"},
	}})
	get := cachedGetMe(t, p)
	if _, doc := get("alice"); doc["user"] != "alice" {
		t.Fatalf("alice got %v", doc)
	}
	hdr, doc := get("bob")
	if doc["user"] != "bob" {
		t.Errorf("bob got %v (X-Cache %q): another user's private answer", doc, hdr.Get("X-Cache"))
	}
	if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "private") || strings.Contains(cc, "public") {
		t.Errorf("merged answer Cache-Control %q, want private and not public", cc)
	}
}

// TestVaryOfCallKeptOnMergedAnswer: a call whose answer varies on the
// client's Cookie (the other way an upstream marks a personalised answer)
// makes the merged answer vary on it too, so a cache keeps one copy per
// cookie instead of handing alice's to bob.
func TestVaryOfCallKeptOnMergedAnswer(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"users": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Cookie, Accept-Encoding")
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"user": strings.TrimPrefix(r.Header.Get("Cookie"), "sid=")})
		},
	})
	p := mustPlan(t, b, "/me", Composite{Calls: []Call{
		{Name: "me", Upstream: "users", Path: "/me", Headers: map[string]string{"Cookie": "{header.Cookie}"}},
	}})
	get := cachedGetMe(t, p)
	if _, doc := get("alice"); doc["user"] != "alice" {
		t.Fatalf("alice got %v", doc)
	}
	hdr, doc := get("bob")
	if doc["user"] != "bob" {
		t.Errorf("bob got %v (X-Cache %q): another user's answer", doc, hdr.Get("X-Cache"))
	}
	if v := hdr.Values("Vary"); len(v) != 1 || v[0] != "Cookie" {
		t.Errorf("merged answer Vary %q, want Cookie (the calls never get the client's Accept-Encoding)", v)
	}
}

// cachedGetMe serves p on /me behind a route cache that keeps answers an
// hour and lets requests with cookies use it; get asks /me with session
// cookie sid and returns the answer's header and JSON document.
func cachedGetMe(t *testing.T, p http.Handler) (get func(sid string) (http.Header, map[string]any)) {
	t.Helper()
	store, err := cache.NewStore(cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	c, err := cache.New(store, cache.Policy{DefaultTTL: units.Duration(time.Hour), AllowCookie: true})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.With(c.Middleware).Handle("/me", p)
	return func(sid string) (http.Header, map[string]any) {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Cookie", "sid="+sid)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		var doc map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &doc)
		return rec.Header(), doc
	}
}
