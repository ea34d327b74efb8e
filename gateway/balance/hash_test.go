package balance_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

var userKey = balance.HeaderKey("X-User")

func userRequest(user string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User", user)
	return r
}

// assign maps each of n keys to the address it is picked for.
func assign(pk balance.Picker, n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		k := fmt.Sprintf("user-%d", i)
		m[k] = pk.Pick(userRequest(k)).Addr
	}
	return m
}

func TestHashSameKeySameEndpoint(t *testing.T) {
	pk := balance.Hash{Key: userKey}.Picker(equalWeights(5))
	for i := range 100 {
		r := userRequest(fmt.Sprintf("user-%d", i))
		first := pk.Pick(r)
		for range 5 {
			if e := pk.Pick(r); e != first {
				t.Fatalf("key user-%d went to %s then %s", i, first.Addr, e.Addr)
			}
		}
	}
	// A new Picker over new Endpoint values for the same instances (a
	// rebuild, or another gateway process) gives the same mapping.
	a := assign(balance.Hash{Key: userKey}.Picker(equalWeights(5)), 1000)
	b := assign(balance.Hash{Key: userKey}.Picker(equalWeights(5)), 1000)
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("key %s: %s in one Picker, %s in another", k, a[k], b[k])
		}
	}
}

// TestHashSetChangeMovesOnlyAffectedKeys: removing an instance remaps only
// its keys; adding one moves keys only onto it. Order in the slice must not
// matter either.
func TestHashSetChangeMovesOnlyAffectedKeys(t *testing.T) {
	const keys = 10000
	eps := equalWeights(10)
	before := assign(balance.Hash{Key: userKey}.Picker(eps), keys)

	removed := eps[3].Addr
	rest := slices.Delete(slices.Clone(eps), 3, 4)
	slices.Reverse(rest)
	after := assign(balance.Hash{Key: userKey}.Picker(rest), keys)
	var moved int
	for k, was := range before {
		switch {
		case was == removed:
			moved++
			if after[k] == removed {
				t.Fatalf("key %s still maps to the removed instance", k)
			}
		case after[k] != was:
			t.Fatalf("key %s moved from %s to %s though %s was not removed", k, was, after[k], was)
		}
	}
	if moved < keys/10/2 || moved > keys/10*2 {
		t.Errorf("removed instance held %d of %d keys, want about a tenth", moved, keys)
	}

	added := balance.NewEndpoint(discovery.Instance{Addr: "10.0.1.1:80"})
	grown := assign(balance.Hash{Key: userKey}.Picker(append(slices.Clone(eps), added)), keys)
	var gained int
	for k, was := range before {
		if grown[k] != was {
			gained++
			if grown[k] != added.Addr {
				t.Fatalf("key %s moved from %s to %s, not to the new instance", k, was, grown[k])
			}
		}
	}
	if gained < keys/11/2 || gained > keys/11*2 {
		t.Errorf("new instance took %d of %d keys, want about an eleventh", gained, keys)
	}
}

func TestHashDistribution(t *testing.T) {
	const n, keys = 8, 80000
	counts := map[string]int{}
	for _, addr := range assign(balance.Hash{Key: userKey}.Picker(equalWeights(n)), keys) {
		counts[addr]++
	}
	if len(counts) != n {
		t.Fatalf("keys landed on %d of %d endpoints", len(counts), n)
	}
	// 100 points per endpoint give each a share within roughly ±10% (one
	// standard deviation); allow 25%.
	for addr, c := range counts {
		if math.Abs(float64(c)-keys/n) > 0.25*keys/n {
			t.Errorf("%s got %d keys, want %d ±25%%", addr, c, keys/n)
		}
	}

	// Weight scales the number of points and so the share.
	counts = map[string]int{}
	eps := endpoints(3, 1)
	for _, addr := range assign(balance.Hash{Key: userKey}.Picker(eps), keys) {
		counts[addr]++
	}
	if share := float64(counts[eps[0].Addr]) / keys; share < 0.68 || share > 0.82 {
		t.Errorf("weight 3 of 4 got %.2f of keys, want about 0.75", share)
	}
}

// TestHashBoundedLoadsSpreadHotKey holds requests in flight with skewed key
// popularity. Every pick must respect the bound, and the hottest key, whose
// owner alone would take all of its traffic, must spill to other endpoints.
func TestHashBoundedLoadsSpreadHotKey(t *testing.T) {
	for _, n := range []int{4, 600} { // 600: beyond the walk's stack bitset
		t.Run(fmt.Sprint(n), func(t *testing.T) { testBoundedLoads(t, n) })
	}
}

func testBoundedLoads(t *testing.T, n int) {
	eps := equalWeights(n)
	pk := balance.Hash{Key: userKey, LoadFactor: 1.25}.Picker(eps)
	hot := userRequest("hot")
	owner := pk.Pick(hot)

	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.5, 1, 200)
	hotTo := map[*balance.Endpoint]int{}
	var total int64
	for range 2000 {
		r := hot
		if rng.IntN(2) == 0 { // half the traffic is one key, the rest Zipf-skewed
			r = userRequest(fmt.Sprintf("user-%d", zipf.Uint64()))
		}
		bound := int64(math.Ceil(1.25 * float64(total+1) / float64(n)))
		e := pk.Pick(r)
		if e.InFlight()+1 > bound {
			t.Fatalf("after %d held requests picked %s with %d in flight, bound %d", total, e.Addr, e.InFlight(), bound)
		}
		if r == hot {
			hotTo[e]++
		}
		e.Acquire()
		total++
	}
	if len(hotTo) < 2 {
		t.Errorf("hot key went to %d endpoint(s), want it spread to at least 2", len(hotTo))
	}
	// Spilling must not abandon the owner: it stays filled to its share.
	if owner.InFlight() < total/int64(n) {
		t.Errorf("owner %s holds %d of %d requests, want at least a fair share %d", owner.Addr, owner.InFlight(), total, total/int64(n))
	}

	// Once the load drains, the hot key is back on its owner.
	for _, e := range eps {
		for e.InFlight() > 0 {
			e.Release()
		}
	}
	if e := pk.Pick(hot); e != owner {
		t.Errorf("idle set: hot key went to %s, want its owner %s", e.Addr, owner.Addr)
	}
}

// TestHashEqualLoadsKeepOwner: the bound ceil(c(nm+1)/n) is above m, so
// an evenly loaded set never moves a key off its owner.
func TestHashEqualLoadsKeepOwner(t *testing.T) {
	eps := equalWeights(3)
	pk := balance.Hash{Key: userKey}.Picker(eps)
	r := userRequest("k")
	owner := pk.Pick(r)
	for _, e := range eps {
		acquireN(e, 4)
	}
	for range 10 {
		if e := pk.Pick(r); e != owner {
			t.Fatalf("equal loads: picked %s, want owner %s", e.Addr, owner.Addr)
		}
	}
}

func TestHashEmptyKeyRoundRobins(t *testing.T) {
	eps := equalWeights(3)
	for _, h := range []balance.Hash{{Key: userKey}, {}} {
		pk := h.Picker(eps)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		start := slices.Index(eps, pk.Pick(r)) // a random one
		for i := 1; i < 9; i++ {
			if want := eps[(start+i)%3]; pk.Pick(r) != want {
				t.Fatalf("no key: pick %d after starting at %d: want %s", i, start, want.Addr)
			}
		}
	}
}

func TestKeyFuncs(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Tenant", "acme")
	r.Header.Add("Cookie", "a=1; sid=\"q9\"")
	r.Header.Add("Cookie", "other=2;sid2=x; session=s-42 ")
	cases := []struct {
		name string
		fn   balance.KeyFunc
		want string
	}{
		{"header, any case", balance.HeaderKey("x-tenant"), "acme"},
		{"header absent", balance.HeaderKey("X-Other"), ""},
		{"cookie quoted", balance.CookieKey("sid"), "q9"},
		{"cookie in second header", balance.CookieKey("session"), "s-42"},
		{"cookie prefix is not a match", balance.CookieKey("si"), ""},
	}
	for _, c := range cases {
		if got := c.fn(r); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	for addr, want := range map[string]string{
		"192.0.2.7:51234":       "192.0.2.7",
		"[2001:db8::1]:443":     "2001:db8::1",
		"2001:db8::1":           "2001:db8::1",
		"unix-socket-peer":      "unix-socket-peer",
		"[fe80::1%eth0]:8080":   "fe80::1%eth0",
		"example.internal:8080": "example.internal",
	} {
		r.RemoteAddr = addr
		if got := balance.ClientIPKey()(r); got != want {
			t.Errorf("ClientIPKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestClientIPKeyBehindTrustedProxy: the key is the client the route table
// decided on, so a hash by client IP behind a load balancer spreads clients
// rather than sending everything to the balancer's owner.
func TestClientIPKeyBehindTrustedProxy(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	key := balance.ClientIPKey()
	if got := key(r); got != "10.0.0.2" {
		t.Errorf("no table: %q, want the peer", got)
	}
	var got string
	tbl, err := route.NewTable([]route.Route{{Route: spec.Route{Name: "x", PathPrefix: "/"}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = key(r) })}},
		route.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	if err != nil {
		t.Fatal(err)
	}
	tbl.ServeHTTP(httptest.NewRecorder(), r)
	if got != "198.51.100.7" {
		t.Errorf("behind a trusted proxy: %q, want the forwarded client", got)
	}
}

// TestHashLargeWeightTimesReplicas: Replicas × weight past 2^32 wrapped to 0
// in a 32-bit int, so the heaviest endpoint got no ring points and no keys
// (and a product of 2^31 went negative). Run it with GOARCH=386 too.
func TestHashLargeWeightTimesReplicas(t *testing.T) {
	eps := endpoints(1<<18, 1)
	pk := balance.Hash{Key: userKey, Replicas: 1 << 14}.Picker(eps)
	heavy := 0
	for _, addr := range assign(pk, 1000) {
		if addr == eps[0].Addr {
			heavy++
		}
	}
	// Its share of the ring is about 94%; 1 in 2 leaves room for hashing.
	if heavy < 500 {
		t.Fatalf("endpoint of weight 2^18 got %d of 1000 keys, the one of weight 1 the rest", heavy)
	}
}
