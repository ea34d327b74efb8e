package upstream_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
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
