package balance_test

import (
	"testing"

	"github.com/gatescale/gatescale/gateway/balance"
)

func acquireN(e *balance.Endpoint, n int) {
	for range n {
		e.Acquire()
	}
}

func TestP2CAvoidsLoadedEndpoint(t *testing.T) {
	eps := equalWeights(4)
	acquireN(eps[2], 10)
	pk := balance.P2C{}.Picker(eps)
	counts := map[*balance.Endpoint]int{}
	const picks = 30000
	for range picks {
		counts[pk.Pick(nil)]++
	}
	// The loaded one always loses its comparison against an idle one.
	if counts[eps[2]] != 0 {
		t.Errorf("loaded endpoint picked %d times, want 0", counts[eps[2]])
	}
	// Among the idle ones draws are uniform: each is 1/3 of picks.
	for _, i := range []int{0, 1, 3} {
		if n := counts[eps[i]]; n < picks/3*9/10 || n > picks/3*11/10 {
			t.Errorf("%s picked %d times, want %d ±10%%", eps[i].Addr, n, picks/3)
		}
	}
}

func TestP2CTwoEndpointsComparesBoth(t *testing.T) {
	eps := equalWeights(2)
	eps[0].Acquire()
	pk := balance.P2C{}.Picker(eps)
	for range 1000 {
		if e := pk.Pick(nil); e != eps[1] {
			t.Fatalf("picked %s with 1 in flight over an idle one", e.Addr)
		}
	}
}

// TestP2CWeightAware: load is (in flight + 1) / weight.
func TestP2CWeightAware(t *testing.T) {
	eps := endpoints(3, 1)
	heavy := eps[0]
	pk := balance.P2C{}.Picker(eps)
	pickCounts := func() (h, l int) {
		for range 2000 {
			if pk.Pick(nil) == heavy {
				h++
			} else {
				l++
			}
		}
		return
	}
	if h, l := pickCounts(); l != 0 {
		t.Errorf("both idle: heavy %d, light %d; want all on the heavier", h, l)
	}
	acquireN(heavy, 2) // (2+1)/3 == (0+1)/1: a tie, either may win
	if h, l := pickCounts(); h == 0 || l == 0 {
		t.Errorf("tied loads: heavy %d, light %d; want both picked", h, l)
	}
	heavy.Acquire() // (3+1)/3 > 1/1
	if h, _ := pickCounts(); h != 0 {
		t.Errorf("heavy over its share picked %d times, want 0", h)
	}
}

// TestP2CBalancesHeldRequests places requests that stay in flight and
// checks that the loads stay close, as least-request should.
func TestP2CBalancesHeldRequests(t *testing.T) {
	eps := equalWeights(5)
	pk := balance.P2C{}.Picker(eps)
	for range 1000 {
		pk.Pick(nil).Acquire()
	}
	lo, hi := eps[0].InFlight(), eps[0].InFlight()
	for _, e := range eps {
		lo, hi = min(lo, e.InFlight()), max(hi, e.InFlight())
	}
	if hi-lo > 10 {
		t.Errorf("in-flight spread %d..%d after 1000 held picks, want within 10", lo, hi)
	}
}
