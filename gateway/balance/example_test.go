package balance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
)

func ExampleRoundRobin() {
	pk := balance.RoundRobin{}.Picker([]*balance.Endpoint{
		balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.1:8080"}),
		balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.2:8080"}),
	})
	// The turn starts at a random endpoint, so that gateways rebuilding
	// their pickers at the same moment do not all begin with the first one;
	// from there each endpoint has its turn.
	first := pk.Pick(nil)
	second := pk.Pick(nil)
	fmt.Println(first != second, pk.Pick(nil) == first, pk.Pick(nil) == second)
	// Output: true true true
}

func ExampleWeighted() {
	pk := balance.Weighted{}.Picker([]*balance.Endpoint{
		balance.NewEndpoint(discovery.Instance{ID: "big", Addr: "10.0.0.1:8080", Weight: 3}),
		balance.NewEndpoint(discovery.Instance{ID: "small", Addr: "10.0.0.2:8080", Weight: 1}),
	})
	// The cycle is big big small big, entered at a random place: any four
	// picks in a row give each instance its weight.
	picks := map[string]int{}
	for range 4 {
		picks[pk.Pick(nil).ID]++
	}
	fmt.Println("big", picks["big"], "small", picks["small"])
	// Output: big 3 small 1
}

func ExampleP2C() {
	busy := balance.NewEndpoint(discovery.Instance{ID: "busy", Addr: "10.0.0.1:8080"})
	idle := balance.NewEndpoint(discovery.Instance{ID: "idle", Addr: "10.0.0.2:8080"})
	busy.Acquire() // two requests outstanding
	busy.Acquire()
	pk := balance.P2C{}.Picker([]*balance.Endpoint{busy, idle})
	// With two endpoints both are always compared: the less loaded one
	// wins until the loads are even.
	for range 2 {
		e := pk.Pick(nil)
		fmt.Println(e.ID)
		e.Acquire()
	}
	// Output:
	// idle
	// idle
}

func ExampleHash() {
	eps := []*balance.Endpoint{
		balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.1:8080"}),
		balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.2:8080"}),
		balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.3:8080"}),
	}
	policy := balance.Hash{Key: balance.CookieKey("session")}
	pk := policy.Picker(eps)

	r := httptest.NewRequest(http.MethodGet, "/cart", nil)
	r.Header.Set("Cookie", "session=7f3a9c")
	first := pk.Pick(r)

	// The session sticks, also in a Picker rebuilt after another instance
	// left the set.
	var rest []*balance.Endpoint
	dropped := false
	for _, e := range eps {
		if e != first && !dropped {
			dropped = true
			continue
		}
		rest = append(rest, e)
	}
	fmt.Println(len(rest), pk.Pick(r) == first, policy.Picker(rest).Pick(r) == first)
	// Output: 2 true true
}

// An Endpoint is an instance plus what the gateway keeps for it: the base
// URL (scheme http unless the instance says otherwise), the requests in
// flight and the weight that weighted policies use.
func ExampleNewEndpoint() {
	e := balance.NewEndpoint(discovery.Instance{Addr: "10.0.0.1:8443", Scheme: "https"})
	fmt.Println(e.URL, e.Key(), e.EffectiveWeight())

	plain := balance.NewEndpoint(discovery.Instance{ID: "users-b", Addr: "10.0.0.2:8080", Weight: 3})
	plain.Acquire() // a request starts ...
	fmt.Println(plain.URL, plain.Key(), plain.EffectiveWeight(), plain.InFlight())
	plain.Release() // ... and ends
	fmt.Println(plain.InFlight())
	// Output:
	// https://10.0.0.1:8443 10.0.0.1:8443 1
	// http://10.0.0.2:8080 users-b 3 1
	// 0
}

// ByName maps a configuration's balancer name onto its Policy; hash is
// refused because it needs a request key.
func ExampleByName() {
	for _, name := range []string{"round_robin", "weighted", "p2c"} {
		p, err := balance.ByName(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %T\n", p.Name(), p)
	}
	_, err := balance.ByName("hash")
	fmt.Println(err)
	_, err = balance.ByName("random")
	fmt.Println(err)
	// Output:
	// round_robin balance.RoundRobin
	// weighted balance.Weighted
	// p2c balance.P2C
	// balance policy "hash" needs a request key: build balance.Hash{Key: ...} (e.g. balance.HeaderKey, CookieKey, ClientIPKey) instead of ByName
	// unknown balance policy "random" (valid: round_robin, weighted, p2c, hash)
}

// An instance's weight changed while a request to it was in flight: the
// new Endpoint counts that request too, and its end.
func ExampleEndpoint_ShareLoad() {
	old := balance.NewEndpoint(discovery.Instance{ID: "a", Addr: "10.0.0.1:8080", Weight: 1})
	old.Acquire()
	next := balance.NewEndpoint(discovery.Instance{ID: "a", Addr: "10.0.0.1:8080", Weight: 3})
	next.ShareLoad(old)
	fmt.Println(next.InFlight())
	old.Release()
	fmt.Println(next.InFlight())
	// Output:
	// 1
	// 0
}
