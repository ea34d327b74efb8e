package balance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
)

// The two methods added for active health checks must keep satisfying it.
var _ health.Target = (*balance.Endpoint)(nil)

// endpoints returns one endpoint per weight, addressed 10.0.0.1:80, 10.0.0.2:80, ...
func endpoints(weights ...int) []*balance.Endpoint {
	eps := make([]*balance.Endpoint, len(weights))
	for i, w := range weights {
		eps[i] = balance.NewEndpoint(discovery.Instance{Addr: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: w})
	}
	return eps
}

func equalWeights(n int) []*balance.Endpoint { return endpoints(make([]int, n)...) }

type namedPolicy struct {
	name string
	balance.Policy
}

// policies are every policy, Hash both with a key the test requests carry
// and with one they lack (so it round-robins).
func policies() []namedPolicy {
	return []namedPolicy{
		{"round_robin", balance.RoundRobin{}},
		{"weighted", balance.Weighted{}},
		{"p2c", balance.P2C{}},
		{"hash", balance.Hash{Key: balance.HeaderKey("X-User")}},
		{"hash/no_key", balance.Hash{Key: balance.HeaderKey("X-Absent")}},
	}
}

func request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User", "alice")
	return r
}

func TestEmptySetPicksNil(t *testing.T) {
	for _, p := range policies() {
		for _, set := range [][]*balance.Endpoint{nil, {}} {
			if e := p.Picker(set).Pick(request()); e != nil {
				t.Errorf("%s: Pick on empty set = %v, want nil", p.name, e.Addr)
			}
		}
	}
}

func TestSingleEndpointAlwaysPicked(t *testing.T) {
	for _, p := range policies() {
		eps := endpoints(7)
		eps[0].Acquire() // a loaded sole endpoint is still the only choice
		pk := p.Picker(eps)
		for range 50 {
			if e := pk.Pick(request()); e != eps[0] {
				t.Fatalf("%s: Pick = %v, want the only endpoint", p.name, e)
			}
		}
	}
}

func TestRoundRobinCycles(t *testing.T) {
	eps := equalWeights(3)
	pk := balance.RoundRobin{}.Picker(eps)
	start := slices.Index(eps, pk.Pick(nil)) // a random one
	for i := 1; i < 300; i++ {
		if want := eps[(start+i)%3]; pk.Pick(nil) != want {
			t.Fatalf("pick %d after starting at %d: want %s", i, start, want.Addr)
		}
	}
}

// TestConcurrentPicks runs every policy from many goroutines (meaningful
// under -race) and checks each pick belongs to the set. For the
// deterministic policies it also checks that concurrency loses no slot: the
// counts over whole cycles are exact.
func TestConcurrentPicks(t *testing.T) {
	const goroutines, perG = 8, 3000 // 24000 picks: whole cycles of 3 and of 3+2+1
	for _, p := range policies() {
		t.Run(p.name, func(t *testing.T) {
			eps := endpoints(3, 2, 1)
			pk := p.Picker(eps)
			var mu sync.Mutex
			counts := map[*balance.Endpoint]int{}
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					local := map[*balance.Endpoint]int{}
					r := request()
					for range perG {
						e := pk.Pick(r)
						if !slices.Contains(eps, e) {
							t.Errorf("picked %v, not in the set", e)
							return
						}
						e.Acquire()
						local[e]++
						e.Release()
					}
					mu.Lock()
					for e, n := range local {
						counts[e] += n
					}
					mu.Unlock()
				})
			}
			wg.Wait()
			total := goroutines * perG
			switch p.name {
			case "round_robin":
				for _, e := range eps {
					if counts[e] != total/3 {
						t.Errorf("%s got %d picks, want exactly %d", e.Addr, counts[e], total/3)
					}
				}
			case "weighted":
				for _, e := range eps {
					if want := total * e.Weight / 6; counts[e] != want {
						t.Errorf("%s got %d picks, want exactly %d", e.Addr, counts[e], want)
					}
				}
			case "hash/no_key": // round robin fallback
				for _, e := range eps {
					if counts[e] != total/3 {
						t.Errorf("%s got %d picks, want exactly %d", e.Addr, counts[e], total/3)
					}
				}
			}
			for _, e := range eps {
				if e.InFlight() != 0 {
					t.Errorf("%s in flight = %d after all releases", e.Addr, e.InFlight())
				}
			}
		})
	}
}

// TestPickDoesNotAllocate covers every Picker implementation, including the
// weighted fallback for huge totals, Hash's bounded-load walk and its pooled
// bitset for large sets, and each KeyFunc.
func TestPickDoesNotAllocate(t *testing.T) {
	r := request()
	r.Header.Set("Cookie", "theme=dark; session=\"abc123\"; lang=en")
	r.RemoteAddr = "[2001:db8::1]:4711"
	cases := []struct {
		name string
		pk   balance.Picker
	}{
		{"round_robin", balance.RoundRobin{}.Picker(equalWeights(3))},
		{"weighted/schedule", balance.Weighted{}.Picker(endpoints(5, 3, 1))},
		{"weighted/huge", balance.Weighted{}.Picker(endpoints(1_000_000, 3, 1))},
		{"weighted/equal", balance.Weighted{}.Picker(endpoints(2, 2))},
		{"p2c", balance.P2C{}.Picker(equalWeights(5))},
		{"p2c/single", balance.P2C{}.Picker(equalWeights(1))},
		{"hash/header", balance.Hash{Key: balance.HeaderKey("x-user")}.Picker(equalWeights(5))},
		{"hash/cookie", balance.Hash{Key: balance.CookieKey("session")}.Picker(equalWeights(5))},
		{"hash/client_ip", balance.Hash{Key: balance.ClientIPKey()}.Picker(equalWeights(5))},
		{"hash/empty_key", balance.Hash{Key: balance.HeaderKey("x-absent")}.Picker(equalWeights(5))},
		{"hash/walk", overloadedOwner(t, r, 4)},
		{"hash/walk_large_set", overloadedOwner(t, r, 600)}, // bitset from the pool, not the stack
	}
	for _, c := range cases {
		c.pk.Pick(r) // warm any pool
		if allocs := testing.AllocsPerRun(1000, func() { c.pk.Pick(r) }); allocs != 0 {
			t.Errorf("%s: Pick allocates %.1f times per call, want 0", c.name, allocs)
		}
	}
}

// overloadedOwner returns a Hash Picker over n endpoints in which the
// owner of r's key is far over the load bound, so picks walk the ring.
func overloadedOwner(t *testing.T, r *http.Request, n int) balance.Picker {
	pk := balance.Hash{Key: balance.HeaderKey("x-user")}.Picker(equalWeights(n))
	owner := pk.Pick(r)
	acquireN(owner, 100)
	if pk.Pick(r) == owner {
		t.Fatalf("n=%d: overloaded owner still picked", n)
	}
	return pk
}

func TestByName(t *testing.T) {
	for _, name := range []string{"round_robin", "weighted", "p2c"} {
		p, err := balance.ByName(name)
		if err != nil {
			t.Fatalf("ByName(%q): %v", name, err)
		}
		if p.Name() != name {
			t.Errorf("ByName(%q).Name() = %q", name, p.Name())
		}
	}
	if _, err := balance.ByName("hash"); err == nil || !strings.Contains(err.Error(), "balance.Hash") {
		t.Errorf("ByName(hash) error = %v, want one pointing to balance.Hash", err)
	}
	_, err := balance.ByName("least_conn")
	if err == nil {
		t.Fatal("ByName(least_conn) succeeded")
	}
	for _, valid := range []string{"round_robin", "weighted", "p2c", "hash"} {
		if !strings.Contains(err.Error(), valid) {
			t.Errorf("error %q does not list %q", err, valid)
		}
	}
}

// TestFirstPickAfterRebuildIsSpread: the upstream builds a new Picker on every
// change of its set, and many replicas see a change at once. The turn-based
// policies must not all begin with the same endpoint, or each change sends a
// burst to it.
func TestFirstPickAfterRebuildIsSpread(t *testing.T) {
	cases := []struct {
		name    string
		policy  balance.Policy
		weights []int
	}{
		{"round_robin", balance.RoundRobin{}, []int{1, 1, 1}},
		{"weighted/equal", balance.Weighted{}, []int{2, 2, 2}},
		{"weighted/schedule", balance.Weighted{}, []int{1, 1, 2}},
		{"weighted/huge", balance.Weighted{}, []int{3000, 3000, 3001}},
		{"hash/no_key", balance.Hash{Key: balance.HeaderKey("X-Absent")}, []int{1, 1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eps := endpoints(c.weights...)
			first := map[*balance.Endpoint]int{}
			// 300 rebuilds: an endpoint of a fair start is missed with
			// probability under (3/4)^300, never in practice.
			for range 300 {
				first[c.policy.Picker(eps).Pick(request())]++
			}
			for _, e := range eps {
				if first[e] == 0 {
					t.Errorf("%s never took the first pick of 300 fresh pickers: %v", e.Addr, first)
				}
			}
		})
	}
}
