package cache

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// RFC 9111 §4.4: a successful unsafe request invalidates the stored
// answers of its target URI — every consumer's, not only the writer's and
// the shared one — and nothing else. The backend's calls count the
// refetches.
func TestUnsafeMethodInvalidatesEveryConsumer(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"))
	as := func(who string) []string {
		if who == "" {
			return nil
		}
		return []string{"X-Test-Consumer", who}
	}
	for _, who := range []string{"", "alice", "bob"} {
		f.get("/doc?v=1", as(who)...)
		f.do(context.Background(), http.MethodHead, "/doc?v=1", as(who)...)
	}
	f.get("/doc?v=2", as("bob")...)
	f.get("/doc/sub?v=1", as("bob")...)
	before := f.back.calls.Load()
	if r := f.do(context.Background(), "PUT", "/doc?v=1", as("alice")...); r.code != 200 {
		t.Fatalf("PUT: %d", r.code)
	}
	for _, who := range []string{"", "alice", "bob"} {
		if r := f.get("/doc?v=1", as(who)...); r.xcache() != Miss {
			t.Fatalf("%q's GET after alice's PUT: %s", who, r.xcache())
		}
		if r := f.do(context.Background(), http.MethodHead, "/doc?v=1", as(who)...); r.xcache() != Miss {
			t.Fatalf("%q's HEAD after alice's PUT: %s", who, r.xcache())
		}
	}
	// Other URIs keep their answers: another query, a longer path.
	for _, p := range []string{"/doc?v=2", "/doc/sub?v=1"} {
		if r := f.get(p, as("bob")...); r.xcache() != Hit {
			t.Fatalf("bob's %s after the PUT: %s", p, r.xcache())
		}
	}
	if n := f.back.calls.Load() - before; n != 1+6 {
		t.Fatalf("backend calls after the PUT = %d, want 7 (the PUT, three GETs, three HEADs)", n)
	}
	// The index of a URI's keys empties as its answers leave the store.
	f.store.PurgePrefix("/")
	if n := f.store.urls.size(); n != 0 {
		t.Fatalf("index holds %d URIs after a purge of everything", n)
	}
}

// A consumer's fetch in progress when another consumer's write to the URI
// is answered does not store its answer: it may predate the write.
func TestUnsafeMethodFencesOtherConsumersFetch(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := counter("Cache-Control", "max-age=60")
	f := newFixture(t, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("X-Consumer-Id") == "carol" && r.Header.Get("X-Hold") != "" {
			close(entered)
			<-release
		}
		h(w, r)
	})
	var wg sync.WaitGroup
	wg.Go(func() { f.get("/doc", "X-Test-Consumer", "carol", "X-Hold", "1") })
	<-entered
	if r := f.do(context.Background(), "POST", "/doc", "X-Test-Consumer", "alice"); r.code != 200 {
		t.Fatalf("POST: %d", r.code)
	}
	close(release)
	wg.Wait()
	if r := f.get("/doc", "X-Test-Consumer", "carol"); r.xcache() != Miss {
		t.Fatalf("carol's answer fetched across alice's write was stored: %s", r.xcache())
	}
}

// Under concurrent reads, writes and expiry the index of keys by URI
// holds exactly the store's keys, each with the node the store holds.
func TestURIIndexFollowsTheStore(t *testing.T) {
	f := newFixture(t, Policy{}, counter("Cache-Control", "max-age=60"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			who := []string{"X-Test-Consumer", "c" + itoa(int64(i%3))}
			for j := range 30 {
				p := "/doc/" + itoa(int64(j%5))
				f.get(p, who...)
				if j%7 == i%7 {
					f.do(context.Background(), "PATCH", p, who...)
				}
			}
		})
	}
	wg.Wait()
	check := func() {
		t.Helper()
		stored := 0
		for key, n := range f.store.c.All() {
			stored++
			f.store.urls.mu.Lock()
			indexed := f.store.urls.m[uriOf(key)][key]
			f.store.urls.mu.Unlock()
			if indexed != n {
				t.Fatalf("key %q: indexed %p, stored %p", key, indexed, n)
			}
		}
		total := 0
		f.store.urls.mu.Lock()
		for _, keys := range f.store.urls.m {
			total += len(keys)
		}
		f.store.urls.mu.Unlock()
		if total != stored {
			t.Fatalf("index holds %d keys, the store %d", total, stored)
		}
	}
	check()
	if f.store.Len() == 0 {
		t.Fatal("nothing stored: the check checked nothing")
	}

	// Answers that expire (the store keeps an entry at least a second)
	// leave the index with the store.
	g := newFixture(t, Policy{}, counter("Cache-Control", "max-age=1"))
	for j := range 5 {
		g.get("/short/"+itoa(int64(j)), "X-Test-Consumer", "c")
	}
	if g.store.urls.size() != 5 {
		t.Fatalf("index holds %d URIs, want 5", g.store.urls.size())
	}
	waitFor(t, func() bool { g.store.c.CleanUp(); return g.store.Len() == 0 })
	if n := g.store.urls.size(); n != 0 {
		t.Fatalf("index holds %d URIs after their answers expired", n)
	}
}
