package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/units"
)

// POST /admin/cache/purge removes the stored answers under a prefix from
// the replica's response cache, says how many, and refuses a bad body with
// the pointer of the bad member. The backend counts its calls: a purged
// answer is fetched again, the others are not.
func TestCachePurge(t *testing.T) {
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, r.URL.Path)
	}))
	defer backend.Close()
	st := admin.NewFile(filepath.Join(t.TempDir(), "state.json"))
	cfg := sample(backend.Listener.Addr().String(), "users", "orders")
	for i := range cfg.Routes {
		cfg.Routes[i].Cache = &cache.Policy{DefaultTTL: units.Duration(time.Hour)}
	}
	if _, err := st.Save(context.Background(), 0, cfg, admin.Change{}); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, st)
	api, err := admin.NewAPI(st, admin.Options{Tokens: testTokens(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PurgeCache: r.rt.PurgeCache})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	f := &apiFixture{t: t, srv: srv, store: st}

	paths := []string{"/users/1", "/users/2", "/orders/1"}
	for _, p := range paths {
		r.get(p)
		r.get(p)
	}
	if c := calls.Load(); c != 3 {
		t.Fatalf("backend calls before the purge = %d, want 3 (the second GETs are hits)", c)
	}
	a := f.do("operator", "POST", "/admin/cache/purge", "", `{"prefix":"/users/"}`)
	if a.code != 200 || a.body["removed"] != float64(2) || a.body["prefix"] != "/users/" {
		t.Fatalf("purge: %d %s", a.code, a.raw)
	}
	for _, p := range paths {
		r.get(p)
	}
	if c := calls.Load(); c != 5 {
		t.Fatalf("backend calls after the purge = %d, want 5 (the two users fetched again, the order a hit)", c)
	}
	// A viewer may not purge.
	if a := f.do("viewer", "POST", "/admin/cache/purge", "", `{"prefix":"/"}`); a.code != 403 {
		t.Fatalf("viewer: %d %s", a.code, a.raw)
	}
	// Bad bodies: the pointer of the bad member.
	for _, c := range []struct {
		body, pointer string
		code          int
	}{
		{`{"prefix":5}`, "/prefix", 400},
		{`{"prefix":"/a","host":"x"}`, "/host", 400},
		{`{}`, "/prefix", 422},
		{`{"prefix":""}`, "/prefix", 422},
		{`{"prefix":"https://api.example.com/users/"}`, "/prefix", 422},
		{`{"prefix":"/users?id=1"}`, "/prefix", 422},
		{`{"prefix":"/a b"}`, "/prefix", 422},
	} {
		a := f.do("operator", "POST", "/admin/cache/purge", "", c.body)
		errs, _ := a.body["errors"].([]any)
		if a.code != c.code || len(errs) != 1 || errs[0].(map[string]any)["pointer"] != c.pointer {
			t.Errorf("%s: %d %s, want %d at %s", c.body, a.code, a.raw, c.code, c.pointer)
		}
	}
	if c := calls.Load(); c != 5 {
		t.Fatalf("backend calls after the refused purges = %d, want 5", c)
	}
	// "/" purges everything (the order, and the users fetched again).
	if a := f.do("operator", "POST", "/admin/cache/purge", "", `{"prefix":"/"}`); a.code != 200 || a.body["removed"] != float64(3) {
		t.Fatalf("purge all: %d %s", a.code, a.raw)
	}

	// Without a cache to purge (Options.PurgeCache unset): 501.
	g := newAPI(t, nil, admin.Options{})
	if a := g.do("operator", "POST", "/admin/cache/purge", "", `{"prefix":"/"}`); a.code != http.StatusNotImplemented {
		t.Fatalf("no PurgeCache: %d %s", a.code, a.raw)
	}
}
