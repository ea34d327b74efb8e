package balance

import (
	"math/rand/v2"
	"net/http"
)

// P2C is least-outstanding-requests balancing with the power of two choices:
// each pick draws two distinct endpoints at random and takes the less loaded
// one. Sampling two instead of scanning all keeps Pick O(1) and avoids the
// herd that a global "least loaded" choice causes when many gateways (or
// many concurrent picks) see the same minimum at once.
//
// The comparison is weight-aware: load is (InFlight()+1) / EffectiveWeight(),
// compared by cross-multiplying so no division happens. The +1 counts the
// request being placed, which makes weights matter even when both candidates
// are idle (the heavier one wins). With equal weights this is a plain
// comparison of InFlight(). Ties go to the first draw, which is itself
// random.
type P2C struct{}

// Name implements Policy.
func (P2C) Name() string { return "p2c" }

// Picker implements Policy.
func (P2C) Picker(eps []*Endpoint) Picker {
	switch len(eps) {
	case 0:
		return empty{}
	case 1:
		return single{eps[0]}
	}
	return &p2cPicker{eps: eps}
}

// single is the Picker of a one-endpoint set.
type single struct{ e *Endpoint }

func (s single) Pick(*http.Request) *Endpoint { return s.e }

type p2cPicker struct {
	eps []*Endpoint
}

func (p *p2cPicker) Pick(*http.Request) *Endpoint {
	n := len(p.eps)
	// math/rand/v2's top-level functions use the per-thread runtime source:
	// no lock, no allocation.
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i { // skip i so the two draws are distinct and still uniform
		j++
	}
	a, b := p.eps[i], p.eps[j]
	// (inA+1)/wA <= (inB+1)/wB, multiplied out. InFlight can be briefly
	// negative only through misuse; weights are capped so this cannot
	// overflow for any realistic in-flight count.
	la := (a.InFlight() + 1) * int64(min(b.EffectiveWeight(), maxWeight))
	lb := (b.InFlight() + 1) * int64(min(a.EffectiveWeight(), maxWeight))
	if lb < la {
		return b
	}
	return a
}
