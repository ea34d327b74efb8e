package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/upstream"
)

func ExampleNew() {
	res := discovery.NewStatic(map[string][]discovery.Instance{
		"users": {{Addr: "127.0.0.1:9001"}, {Addr: "127.0.0.1:9002"}},
	})
	u := upstream.New("users", res, upstream.WithPolicy(balance.RoundRobin{}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	r := httptest.NewRequest("GET", "/", nil)
	// Round robin, from a random instance: each in turn.
	picks := map[string]int{}
	for range 4 {
		picks[u.Pick(r).Addr]++
	}
	fmt.Println(picks)
	// Output: map[127.0.0.1:9001:2 127.0.0.1:9002:2]
}

// An upstream rebuilt with new settings keeps its instances' health: the
// instance ejected in the old one is still out in the new one, also when the
// old one ejected it after the new one started, until the new one took over;
// and what the old one's requests still in flight meet counts in the new one.
func ExampleWithPredecessor() {
	res := discovery.NewStatic(map[string][]discovery.Instance{
		"users": {{Addr: "127.0.0.1:9001"}, {Addr: "127.0.0.1:9002"}, {Addr: "127.0.0.1:9003"}, {Addr: "127.0.0.1:9004"}},
	})
	passive := upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 1})
	old := upstream.New("users", res, passive)
	old.Start(context.Background())
	<-old.Ready()
	old.Observe(old.Endpoints()[0], true) // a 5xx: ejected

	next := upstream.New("users", res, passive, upstream.WithPolicy(balance.RoundRobin{}), upstream.WithPredecessor(old))
	next.Start(context.Background())
	defer next.Close()
	<-next.Ready()
	fmt.Println("admitted when started:", next.Admitted())

	old.Observe(old.Endpoints()[1], true) // old still serves: ejected too
	next.TakeOver()                       // then next replaces it
	old.Close()
	fmt.Println("admitted after taking over:", next.Admitted())

	// A request old sent before the swap fails after it: it counts in next
	// (which may not eject a third of four at the default 50%).
	old.Observe(old.Endpoints()[2], true)
	fmt.Println("failure run in next:", next.Endpoints()[2].Health.ConsecutiveFailures())
	// Output:
	// admitted when started: 3
	// admitted after taking over: 2
	// failure run in next: 1
}

// With a panic threshold of 50%, an upstream of two instances balances
// over the one left when one is ejected (half are healthy: not below 50%),
// and over both when both are, rather than having none to pick.
func ExampleWithPanicThreshold() {
	res := discovery.NewStatic(map[string][]discovery.Instance{
		"users": {{Addr: "127.0.0.1:9001"}, {Addr: "127.0.0.1:9002"}},
	})
	u := upstream.New("users", res, upstream.WithPanicThreshold(50),
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 1, MaxEjectionPercent: 100}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	r := httptest.NewRequest("GET", "/", nil)
	for _, ep := range u.Endpoints() {
		u.Observe(ep, true) // a 5xx: ejected
		fmt.Println("admitted:", u.Admitted(), "panic:", u.Panicking(), "picks:", u.Pick(r) != nil)
	}
	fmt.Println(upstream.CheckPanicThreshold(150))
	// Output:
	// admitted: 1 panic: false picks: true
	// admitted: 0 panic: true picks: true
	// must be a percentage from 0 (off) to 100, not 150
}

// unreachable is a resolver whose source never answers: it only reports
// the failure, as the Consul resolver does with its agent down.
type unreachable struct{}

func (unreachable) Watch(ctx context.Context, service string, fn func(discovery.Update)) error {
	fn(discovery.Update{Err: errors.New("consul: connection refused")})
	<-ctx.Done()
	return nil
}

// An upstream whose discovery has only failed has had its first word
// (Ready) but knows of no instance, which is not knowing there is none:
// gateway.Gateway.Ready is not ready on it.
func ExampleUpstream_Resolved() {
	u := upstream.New("users", unreachable{})
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()
	fmt.Println(u.Resolved(), u.Stale())

	static := upstream.New("users", discovery.NewStatic(map[string][]discovery.Instance{"users": {}}))
	static.Start(context.Background())
	defer static.Close()
	<-static.Ready()
	fmt.Println(static.Resolved(), static.Admitted())
	// Output:
	// false consul: connection refused
	// true 0
}
