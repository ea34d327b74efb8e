package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/mirror"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// mirrorCount is gatescale_mirror_requests_total of route and outcome, 0
// while it has no series.
func mirrorCount(t *testing.T, reg *prometheus.Registry, route, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "gatescale_mirror_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["route"] == route && (outcome == "" || labels["outcome"] == outcome) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// blockingBackend is a backend whose answers wait until release is
// called; entered counts the requests waiting.
type blockingBackend struct {
	*backend
	entered atomic.Int64
	release func()
}

func newBlockingBackend(t *testing.T, name string) *blockingBackend {
	b := &blockingBackend{backend: newBackend(t, name)}
	gate := make(chan struct{})
	var once sync.Once
	b.release = func() { once.Do(func() { close(gate) }) }
	// Before the server's Close, which waits for its handlers.
	t.Cleanup(b.release)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		b.entered.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		<-gate
		_, _ = io.WriteString(w, "late")
	})
	return b
}

func mirrorConfig(primary, shadow string, p mirror.Policy) gateway.Config {
	p.Upstream = "shadow"
	return gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "main", Instances: []discovery.Instance{{Addr: primary}}},
			{Name: "shadow", Instances: []discovery.Instance{{Addr: shadow}}},
		},
		Routes: []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api", Upstream: "main", Mirror: &p}}},
	}
}

// TestMirrorFromFile: a route's mirror from a YAML file. The mirror gets
// the request as the primary does — method, path after strip_prefix,
// query, body, the client's headers, X-Forwarded-* as the proxy sets them
// — plus the marker header; the client gets the primary's answer alone.
func TestMirrorFromFile(t *testing.T) {
	primary, shadow := newBackend(t, "primary"), newBackend(t, "shadow")
	var mirrorBody atomic.Value
	shadow.handle(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mirrorBody.Store(string(b))
	})
	url, reg := serveYAML(t, fmt.Sprintf(`
upstreams:
  main: {instances: ["%s"]}
  next: {instances: ["%s"]}
routes:
  - name: api
    path_prefix: /api
    strip_prefix: /api
    upstream: main
    mirror: {upstream: next, percent: 100, max_body_bytes: 1KiB, header: X-Mirrored-From}
`, primary.addr(), shadow.addr()))

	resp := do(t, http.MethodPost, url+"/api/orders?x=1", strings.NewReader(`{"n":1}`),
		"Content-Type", "application/json", "X-Custom", "c", "Host", "shop.example")
	if resp.code != 200 || resp.body != "primary /orders?x=1" || resp.header.Get("X-Backend") != "primary" {
		t.Fatalf("client got %d %q from %q, want the primary's answer", resp.code, resp.body, resp.header.Get("X-Backend"))
	}
	eventually(t, 5*time.Second, "the copy counted as sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })
	got, want := shadow.last(), primary.last()
	if got == nil {
		t.Fatal("the mirror got no request")
	}
	if got.Method != http.MethodPost || got.URL.RequestURI() != "/orders?x=1" {
		t.Errorf("mirror got %s %s, want POST /orders?x=1", got.Method, got.URL.RequestURI())
	}
	if body, _ := mirrorBody.Load().(string); body != `{"n":1}` {
		t.Errorf("mirror got body %q", body)
	}
	for _, h := range []string{"Content-Type", "X-Custom", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id"} {
		if got.Header.Get(h) == "" || got.Header.Get(h) != want.Header.Get(h) {
			t.Errorf("%s: mirror got %q, primary %q", h, got.Header.Get(h), want.Header.Get(h))
		}
	}
	if got.Header.Get("X-Forwarded-Host") != "shop.example" {
		t.Errorf("X-Forwarded-Host = %q, want the client's Host", got.Header.Get("X-Forwarded-Host"))
	}
	if got.Header.Get("X-Mirrored-From") != "api" || want.Header.Get("X-Mirrored-From") != "" {
		t.Errorf("marker: mirror %q, primary %q; want api on the copy only", got.Header.Get("X-Mirrored-From"), want.Header.Get("X-Mirrored-From"))
	}
	if n := shadow.hits.Load(); n != 1 {
		t.Errorf("mirror hit %d times, want 1", n)
	}
	// The mirror's requests are its own upstream's in the metrics.
	if n := metricValue(t, reg, "gatescale_upstream_requests_total", "upstream", "next"); n != 1 {
		t.Errorf("upstream next counted %v requests, want 1", n)
	}
}

// TestMirrorDoesNotAffectClient: a mirror that hangs, is down or answers
// 500 changes nothing for the client, who has its answer while the
// hanging mirror still holds the copies.
func TestMirrorDoesNotAffectClient(t *testing.T) {
	primary := newBackend(t, "primary")
	t.Run("hanging", func(t *testing.T) {
		slow := newBlockingBackend(t, "slow")
		_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), slow.addr(), mirror.Policy{}))
		for i := range 3 {
			resp := do(t, http.MethodPost, srv.URL+"/api/x", strings.NewReader("body"))
			if resp.code != 200 || resp.body != "primary /api/x" {
				t.Fatalf("request %d: %d %q while the mirror hangs", i, resp.code, resp.body)
			}
		}
		eventually(t, 5*time.Second, "3 copies held by the mirror", func() bool { return slow.entered.Load() == 3 })
		if n := mirrorCount(t, reg, "api", ""); n != 0 {
			t.Fatalf("%v outcomes counted before the mirror answered", n)
		}
		slow.release()
		eventually(t, 5*time.Second, "3 copies sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 3 })
	})
	t.Run("timeout", func(t *testing.T) {
		slow := newBlockingBackend(t, "slow")
		_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), slow.addr(), mirror.Policy{Timeout: spec.Duration(20 * time.Millisecond)}))
		if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 || resp.body != "primary /api/x" {
			t.Fatalf("mirror hanging past its timeout: %d %q", resp.code, resp.body)
		}
		// The backend holds the copy until the test ends: only the
		// mirror's own timeout can end it.
		eventually(t, 5*time.Second, "the copy cut by its timeout", func() bool { return mirrorCount(t, reg, "api", "timeout") == 1 })
	})
	t.Run("down", func(t *testing.T) {
		_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), closedAddr(t), mirror.Policy{}))
		for range 2 {
			if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 || resp.body != "primary /api/x" {
				t.Fatalf("mirror down: %d %q", resp.code, resp.body)
			}
		}
		eventually(t, 5*time.Second, "2 copies failed", func() bool { return mirrorCount(t, reg, "api", "error") == 2 })
	})
	t.Run("500", func(t *testing.T) {
		failing := newBackend(t, "failing")
		failing.handle(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
		_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), failing.addr(), mirror.Policy{}))
		if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 || resp.body != "primary /api/x" {
			t.Fatalf("mirror 500: %d %q", resp.code, resp.body)
		}
		eventually(t, 5*time.Second, "the copy counted as error", func() bool { return mirrorCount(t, reg, "api", "error") == 1 })
		if failing.hits.Load() != 1 {
			t.Fatalf("mirror hit %d times", failing.hits.Load())
		}
	})
}

// TestMirrorPercent: percent 25 of 400 requests are copied (a uniform
// draw: 100 expected, the bound is ±50), 0 copies none.
func TestMirrorPercent(t *testing.T) {
	primary := newBackend(t, "primary")
	for _, tc := range []struct{ percent, lo, hi int }{{25, 50, 150}, {0, 0, 0}} {
		shadow := newBackend(t, "shadow") // its own: late copies of another case do not count here
		pct := tc.percent
		_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{Percent: &pct}))
		const n = 400
		for range n {
			if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 {
				t.Fatalf("status %d", resp.code)
			}
		}
		eventually(t, 5*time.Second, "every copy that arrived counted", func() bool {
			return mirrorCount(t, reg, "api", "") == float64(shadow.hits.Load())
		})
		if n := mirrorCount(t, reg, "api", "sent"); n != float64(shadow.hits.Load()) {
			t.Errorf("percent %d: %v copies sent, %d arrived", tc.percent, n, shadow.hits.Load())
		}
		if got := int(shadow.hits.Load()); got < tc.lo || got > tc.hi {
			t.Errorf("percent %d: %d of %d requests mirrored, want %d-%d", tc.percent, got, n, tc.lo, tc.hi)
		}
	}
}

// TestMirrorBodyLimit: a body over max_body_bytes, with a length or
// chunked, skips the mirror and reaches the primary whole; one within it,
// chunked, reaches both whole.
func TestMirrorBodyLimit(t *testing.T) {
	var mu sync.Mutex
	var primarySums []string
	primary := newBackend(t, "primary")
	primary.handle(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		primarySums = append(primarySums, fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b)))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})
	var mirrorSums []string
	shadow := newBackend(t, "shadow")
	shadow.handle(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		mirrorSums = append(mirrorSums, fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b)))
		mu.Unlock()
	})
	_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{MaxBodyBytes: 1024}))

	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	sum := func(b []byte) string { return fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b)) }
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) } // no length: sent chunked
	// 1025 bytes of unknown length: read past the limit before it is known.
	just := big[:1025]
	for i, body := range []io.Reader{bytes.NewReader(big), chunked(big), chunked(just)} {
		if resp := do(t, http.MethodPost, srv.URL+"/api/up", body); resp.code != 200 || resp.body != "ok" {
			t.Fatalf("body %d: %d %q", i, resp.code, resp.body)
		}
	}
	small := big[:1000]
	if resp := do(t, http.MethodPost, srv.URL+"/api/up", chunked(small)); resp.code != 200 {
		t.Fatalf("small body: %d %q", resp.code, resp.body)
	}
	eventually(t, 5*time.Second, "the small body's copy sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })
	if n := mirrorCount(t, reg, "api", "skipped_body"); n != 3 {
		t.Errorf("skipped_body = %v, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	wantPrimary := []string{sum(big), sum(big), sum(just), sum(small)}
	if fmt.Sprint(primarySums) != fmt.Sprint(wantPrimary) {
		t.Errorf("primary got bodies %v, want %v", primarySums, wantPrimary)
	}
	if fmt.Sprint(mirrorSums) != fmt.Sprint([]string{sum(small)}) {
		t.Errorf("mirror got bodies %v, want only the small one %v", mirrorSums, sum(small))
	}
}

// TestMirrorInFlightBound: with max_in_flight 2 and a mirror that holds
// its copies, a third and fourth request are not mirrored (dropped) and
// their clients are served; once the mirror answers, copies go again.
func TestMirrorInFlightBound(t *testing.T) {
	primary := newBackend(t, "primary")
	slow := newBlockingBackend(t, "slow")
	_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), slow.addr(), mirror.Policy{MaxInFlight: 2}))
	get := func() {
		t.Helper()
		if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 || resp.body != "primary /api/x" {
			t.Fatalf("%d %q", resp.code, resp.body)
		}
	}
	get()
	get()
	eventually(t, 5*time.Second, "2 copies held", func() bool { return slow.entered.Load() == 2 })
	get()
	get()
	if n := mirrorCount(t, reg, "api", "dropped"); n != 2 {
		t.Fatalf("dropped = %v, want 2", n)
	}
	slow.release()
	eventually(t, 5*time.Second, "2 copies sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 2 })
	get()
	eventually(t, 5*time.Second, "a copy sent once slots are free", func() bool { return mirrorCount(t, reg, "api", "sent") == 3 })
	if n := slow.hits.Load(); n != 3 {
		t.Fatalf("mirror hit %d times, want 3", n)
	}
}

// TestMirrorReloadAndClose: a copy in flight at a reload that removes the
// mirror finishes and is counted; a reload that removes the route forgets
// its series; a closed gateway cuts the copies in flight.
func TestMirrorReloadAndClose(t *testing.T) {
	primary := newBackend(t, "primary")
	slow := newBlockingBackend(t, "slow")
	cfg := mirrorConfig(primary.addr(), slow.addr(), mirror.Policy{})
	gw, srv, reg := newGateway(t, cfg)
	do(t, http.MethodGet, srv.URL+"/api/x", nil)
	eventually(t, 5*time.Second, "the copy held", func() bool { return slow.entered.Load() == 1 })

	plain := cfg
	plain.Routes = []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api", Upstream: "main"}}}
	if err := gw.Apply(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	do(t, http.MethodGet, srv.URL+"/api/x", nil) // not mirrored any more
	slow.release()
	eventually(t, 5*time.Second, "the copy from before the reload sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })
	if n := slow.hits.Load(); n != 1 {
		t.Fatalf("mirror hit %d times, want 1", n)
	}
	gone := plain
	gone.Routes = []route.Route{{Route: spec.Route{Name: "other", PathPrefix: "/other", Upstream: "main"}}}
	if err := gw.Apply(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the removed route's series deleted", func() bool { return mirrorCount(t, reg, "api", "") == 0 })

	// Close: a held copy is cut, counted cancelled.
	slow2 := newBlockingBackend(t, "slow2")
	gw2, srv2, reg2 := newGateway(t, mirrorConfig(primary.addr(), slow2.addr(), mirror.Policy{}))
	do(t, http.MethodGet, srv2.URL+"/api/x", nil)
	eventually(t, 5*time.Second, "the copy held", func() bool { return slow2.entered.Load() == 1 })
	gw2.Close()
	eventually(t, 5*time.Second, "the copy cut by Close", func() bool { return mirrorCount(t, reg2, "api", "cancelled") == 1 })
}

// TestMirrorValidation: Apply refuses a mirror of an undefined upstream,
// of the route's own, and on a composite route, each at its field.
func TestMirrorValidation(t *testing.T) {
	gw, err := gateway.New()
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	cfg := mirrorConfig("127.0.0.1:1", "127.0.0.1:2", mirror.Policy{})
	for _, tc := range []struct {
		name string
		edit func(*spec.Route)
		want string
	}{
		{"undefined", func(r *spec.Route) { r.Mirror.Upstream = "nope" }, `routes[0].mirror.upstream: "nope" is not defined`},
		{"own upstream", func(r *spec.Route) { r.Mirror.Upstream = "main" }, `routes[0].mirror.upstream: "main" is the route's own upstream`},
		{"percent", func(r *spec.Route) { p := 101; r.Mirror.Percent = &p }, `routes[0].mirror.percent: 101 is not a percentage (0-100)`},
	} {
		c := cfg
		rt := c.Routes[0]
		m := *rt.Mirror
		rt.Mirror = &m
		tc.edit(&rt.Route)
		c.Routes = []route.Route{rt}
		if err := gw.Apply(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestMirrorRouteBodyLimit: a chunked body over the route's own
// max_body_bytes, which the mirror meets while reading ahead, gets the
// route's answer (413) as without a mirror, and is not copied.
func TestMirrorRouteBodyLimit(t *testing.T) {
	primary, shadow := newBackend(t, "primary"), newBackend(t, "shadow")
	for _, mirrored := range []bool{false, true} {
		cfg := mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{})
		cfg.Routes[0].MaxBodyBytes = 100
		if !mirrored {
			cfg.Routes[0].Mirror = nil
		}
		_, srv, reg := newGateway(t, cfg)
		body := io.MultiReader(strings.NewReader(strings.Repeat("x", 500))) // no length: chunked
		if resp := do(t, http.MethodPost, srv.URL+"/api/x", body); resp.code != http.StatusRequestEntityTooLarge {
			t.Errorf("mirrored %v: %d %q, want 413", mirrored, resp.code, resp.body)
		}
		if mirrored {
			if n := mirrorCount(t, reg, "api", "skipped_body"); n != 1 {
				t.Errorf("skipped_body = %v, want 1", n)
			}
		}
	}
	if n := shadow.hits.Load(); n != 0 {
		t.Errorf("the mirror got %d copies of a refused body", n)
	}
}

// TestMirrorUpstreamRemoved: a reload that takes the mirror off a route
// and removes its upstream deletes that upstream's mirror series, as the
// upstream's own.
func TestMirrorUpstreamRemoved(t *testing.T) {
	primary, shadow := newBackend(t, "primary"), newBackend(t, "shadow")
	cfg := mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{})
	gw, srv, reg := newGateway(t, cfg)
	do(t, http.MethodGet, srv.URL+"/api/x", nil)
	eventually(t, 5*time.Second, "the copy sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })
	cfg.Upstreams = cfg.Upstreams[:1]
	cfg.Routes = []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api", Upstream: "main"}}}
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if n := mirrorCount(t, reg, "api", ""); n != 0 {
		t.Fatalf("the removed mirror upstream's series still count %v", n)
	}
}

// TestMirrorDroppedFromRoute: a reload that takes a route's mirror away,
// or moves it to another upstream, while the route and the old mirror
// upstream stay, deletes the route's series for the old upstream; they
// stayed frozen before.
func TestMirrorDroppedFromRoute(t *testing.T) {
	primary, shadow, other := newBackend(t, "primary"), newBackend(t, "shadow"), newBackend(t, "other")
	cfg := mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{})
	cfg.Upstreams = append(cfg.Upstreams, gateway.UpstreamSpec{Name: "other", Instances: []discovery.Instance{{Addr: other.addr()}}})
	gw, srv, reg := newGateway(t, cfg)
	do(t, http.MethodGet, srv.URL+"/api/x", nil)
	eventually(t, 5*time.Second, "the copy to shadow sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })

	moved := cfg
	moved.Routes = []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api", Upstream: "main", Mirror: &mirror.Policy{Upstream: "other"}}}}
	if err := gw.Apply(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	if n := mirrorCount(t, reg, "api", ""); n != 0 {
		t.Fatalf("after the mirror moved to other, the route's series for shadow still count %v", n)
	}
	do(t, http.MethodGet, srv.URL+"/api/x", nil)
	eventually(t, 5*time.Second, "the copy to other sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 1 })

	dropped := cfg
	dropped.Routes = []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api", Upstream: "main"}}}
	if err := gw.Apply(context.Background(), dropped); err != nil {
		t.Fatal(err)
	}
	if n := mirrorCount(t, reg, "api", ""); n != 0 {
		t.Fatalf("after the mirror was removed, the route's series still count %v", n)
	}
}

// TestMirrorInFlightBoundAcrossReload: max_in_flight bounds the route's
// copies, not one reload's: with 2 copies held by a stuck mirror, a reload
// (as every discovery or file change makes) does not let 2 more leave.
func TestMirrorInFlightBoundAcrossReload(t *testing.T) {
	primary := newBackend(t, "primary")
	slow := newBlockingBackend(t, "slow")
	cfg := mirrorConfig(primary.addr(), slow.addr(), mirror.Policy{MaxInFlight: 2})
	gw, srv, reg := newGateway(t, cfg)
	get := func() {
		t.Helper()
		if resp := do(t, http.MethodGet, srv.URL+"/api/x", nil); resp.code != 200 || resp.body != "primary /api/x" {
			t.Fatalf("%d %q", resp.code, resp.body)
		}
	}
	get()
	get()
	eventually(t, 5*time.Second, "2 copies held", func() bool { return slow.entered.Load() == 2 })
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	get()
	get()
	if n := mirrorCount(t, reg, "api", "dropped"); n != 2 {
		t.Fatalf("after a reload, dropped = %v, want 2: the 2 copies held still count", n)
	}
	slow.release()
	eventually(t, 5*time.Second, "the held copies sent", func() bool { return mirrorCount(t, reg, "api", "sent") == 2 })
	get()
	eventually(t, 5*time.Second, "a copy sent once slots are free", func() bool { return mirrorCount(t, reg, "api", "sent") == 3 })
}

// TestMirrorConcurrentCopies: under concurrent requests (run with -race),
// each copy carries its own request's headers and body, never another's,
// and the primary gets each body whole.
func TestMirrorConcurrentCopies(t *testing.T) {
	const n = 40
	primary, shadow := newBackend(t, "primary"), newBackend(t, "shadow")
	var mu sync.Mutex
	seen := map[string]map[string]string{"primary": {}, "shadow": {}}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen[name][r.Header.Get("X-N")] = string(b)
			mu.Unlock()
		}
	}
	primary.handle(record("primary"))
	shadow.handle(record("shadow"))
	_, srv, reg := newGateway(t, mirrorConfig(primary.addr(), shadow.addr(), mirror.Policy{MaxInFlight: n}))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/x?n=%d", srv.URL, i), strings.NewReader(strings.Repeat(fmt.Sprint(i), 100+i)))
			req.Header.Set("X-N", fmt.Sprint(i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	eventually(t, 5*time.Second, "every copy sent", func() bool { return mirrorCount(t, reg, "api", "sent") == n })
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		want := strings.Repeat(fmt.Sprint(i), 100+i)
		for _, name := range []string{"primary", "shadow"} {
			if got := seen[name][fmt.Sprint(i)]; got != want {
				t.Errorf("%s got %.20q... for request %d, want its own body", name, got, i)
			}
		}
	}
}
