package balance_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatescale/gatescale/gateway/balance"
)

func BenchmarkPick(b *testing.B) {
	// 16 endpoints, a realistic upstream size, with uneven weights.
	weights := make([]int, 16)
	for i := range weights {
		weights[i] = 1 + i%4
	}
	huge := make([]int, 16)
	for i := range huge {
		huge[i] = 1000 * (1 + i)
	}
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		reqs[i] = userRequest(fmt.Sprintf("user-%d", i))
	}
	cases := []struct {
		name string
		pk   balance.Picker
	}{
		{"round_robin", balance.RoundRobin{}.Picker(endpoints(weights...))},
		{"weighted", balance.Weighted{}.Picker(endpoints(weights...))},
		{"weighted_huge", balance.Weighted{}.Picker(endpoints(huge...))},
		{"p2c", balance.P2C{}.Picker(endpoints(weights...))},
		{"hash", balance.Hash{Key: userKey}.Picker(endpoints(weights...))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					// Acquire/Release as the proxy does, so P2C and Hash see
					// real in-flight counts.
					e := c.pk.Pick(reqs[i%len(reqs)])
					e.Acquire()
					e.Release()
					i++
				}
			})
		})
	}
}
