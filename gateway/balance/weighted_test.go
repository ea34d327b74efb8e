package balance_test

import (
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/balance"
)

func TestWeightedExactPerCycle(t *testing.T) {
	cases := []struct {
		name    string
		weights []int
		cycle   int // sum of weights divided by their gcd
	}{
		{"3:1", []int{3, 1}, 4},
		{"5:1:1", []int{5, 1, 1}, 7},
		{"gcd reduced", []int{20, 40, 60}, 6},
		{"zero and negative count as 1", []int{0, -3, 2}, 4},
		{"largest schedule", []int{4000, 95, 1}, 4096},
		{"past the schedule", []int{4000, 96, 1}, 4097},
		{"huge", []int{1 << 20, 1<<19 + 1, 7}, 1<<20 + 1<<19 + 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eps := endpoints(c.weights...)
			pk := balance.Weighted{}.Picker(eps)
			// Start mid-cycle: any window of whole cycles must be exact.
			for range c.cycle / 3 {
				pk.Pick(nil)
			}
			counts := map[*balance.Endpoint]int{}
			for range 2 * c.cycle {
				counts[pk.Pick(nil)]++
			}
			var sum int
			for _, e := range eps {
				sum += e.EffectiveWeight()
			}
			for _, e := range eps {
				// int64: the product is past 2^31 for the huge case.
				if want := int(2 * int64(c.cycle) * int64(e.EffectiveWeight()) / int64(sum)); counts[e] != want {
					t.Errorf("%s (weight %d) got %d picks in 2 cycles, want %d", e.Addr, e.EffectiveWeight(), counts[e], want)
				}
			}
		})
	}
}

// TestWeightedSmoothOrder checks nginx's documented order for 5:1:1. A
// Picker enters the cycle at a random place, so fourteen picks must be two
// turns of a rotation of it.
func TestWeightedSmoothOrder(t *testing.T) {
	const cycle = "aabacaa"
	eps := endpoints(5, 1, 1)
	names := map[*balance.Endpoint]string{eps[0]: "a", eps[1]: "b", eps[2]: "c"}
	pk := balance.Weighted{}.Picker(eps)
	var got string
	for range 14 {
		got += names[pk.Pick(nil)]
	}
	if got[:7] != got[7:] || !strings.Contains(cycle+cycle, got[:7]) {
		t.Errorf("order = %s, want two turns of a rotation of %s", got, cycle)
	}
}

// TestWeightedInterleaves checks that light endpoints are spread through the
// cycle instead of served in one block, for both the precomputed schedule
// and the fallback for huge totals. The ideal gap between picks of an
// endpoint is cycle/weight; a block order would leave one gap of nearly the
// whole cycle.
func TestWeightedInterleaves(t *testing.T) {
	for _, weights := range [][]int{{4000, 90, 6}, {400_001, 9_000, 600}} {
		eps := endpoints(weights...)
		pk := balance.Weighted{}.Picker(eps)
		cycle := weights[0] + weights[1] + weights[2]
		last := map[*balance.Endpoint]int{}
		maxGap := map[*balance.Endpoint]int{}
		for i := range 2 * cycle {
			e := pk.Pick(nil)
			if prev, ok := last[e]; ok {
				maxGap[e] = max(maxGap[e], i-prev)
			}
			last[e] = i
		}
		for _, e := range eps[1:] {
			ideal := cycle / e.EffectiveWeight()
			if maxGap[e] > 3*ideal {
				t.Errorf("weights %v: %s (weight %d) max gap %d, want <= %d (3x ideal)", weights, e.Addr, e.EffectiveWeight(), maxGap[e], 3*ideal)
			}
		}
	}
}
