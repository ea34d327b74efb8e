package balance

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
)

// maxScheduleSlots bounds the precomputed smooth schedule (one uint16 per
// slot). Larger totals use weylPicker, which needs no per-slot memory.
const maxScheduleSlots = 4096

// maxWeight caps a single weight so that the sum over any realistic set fits
// in a uint64 with room for the schedule arithmetic. It is the largest int
// of 32-bit platforms, so the package compiles there.
const maxWeight = math.MaxInt32

// Weighted is weighted round robin over Endpoint.EffectiveWeight.
//
// Every full cycle of sum(weights) picks (after dividing the weights by their
// greatest common divisor) gives each endpoint exactly its weight. Picks are
// interleaved rather than bunched: with weights 3 and 1 the cycle is
// a a b a, not a a a b. Up to 4096 slots per cycle the order is nginx's
// smooth weighted round robin, precomputed in Picker; above that it is an
// equally exact low-discrepancy order that needs no per-slot memory. Each
// Picker starts at a random place in the cycle.
type Weighted struct{}

// Name implements Policy.
func (Weighted) Name() string { return "weighted" }

// Picker implements Policy.
func (Weighted) Picker(eps []*Endpoint) Picker {
	if len(eps) == 0 {
		return empty{}
	}
	weights := make([]uint64, len(eps))
	var g uint64
	for i, e := range eps {
		weights[i] = uint64(min(e.EffectiveWeight(), maxWeight))
		g = gcd(g, weights[i])
	}
	var total uint64
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total == uint64(len(eps)) { // all weights equal: plain round robin is the same order
		return newRRPicker(eps)
	}
	if total <= maxScheduleSlots {
		p := &schedulePicker{eps: eps, schedule: smoothSchedule(weights, total)}
		p.next.Store(rand.Uint64N(total)) // a random place in the cycle, as newRRPicker says why
		return p
	}
	return newWeylPicker(eps, weights, total)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// smoothSchedule returns one cycle of nginx's smooth weighted round robin:
// each step every endpoint gains its weight, the richest is chosen (the first
// one on ties) and pays the total. total must be at most maxScheduleSlots,
// so every index and running value fits comfortably.
func smoothSchedule(weights []uint64, total uint64) []uint16 {
	current := make([]int64, len(weights))
	schedule := make([]uint16, total)
	for slot := range schedule {
		best := 0
		for i, w := range weights {
			current[i] += int64(w)
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= int64(total)
		schedule[slot] = uint16(best)
	}
	return schedule
}

// schedulePicker walks a precomputed cycle.
type schedulePicker struct {
	next     atomic.Uint64
	eps      []*Endpoint
	schedule []uint16
}

func (p *schedulePicker) Pick(*http.Request) *Endpoint {
	n := p.next.Add(1) - 1
	return p.eps[p.schedule[n%uint64(len(p.schedule))]]
}

// weylPicker serves totals too large to precompute. Endpoint i owns a
// contiguous run of weights[i] slots in [0, total); pick n takes slot
// n*stride mod total. With stride coprime to total that visits every slot
// exactly once per cycle (so the counts are exact), and with stride near
// total/φ consecutive picks land far apart (so the runs are interleaved).
type weylPicker struct {
	next   atomic.Uint64
	eps    []*Endpoint
	ends   []uint64 // ends[i] is the first slot after endpoint i's run
	total  uint64
	stride uint64
}

func newWeylPicker(eps []*Endpoint, weights []uint64, total uint64) *weylPicker {
	ends := make([]uint64, len(weights))
	var sum uint64
	for i, w := range weights {
		sum += w
		ends[i] = sum
	}
	// 0x9E3779B97F4A7C15 / 2^64 is 1/φ; scaling total by it gives the stride
	// with the most even spacing, then step to the nearest coprime value.
	stride, _ := bits.Mul64(total, 0x9E3779B97F4A7C15)
	stride = max(stride, 1)
	for gcd(stride, total) != 1 {
		stride++
	}
	p := &weylPicker{eps: eps, ends: ends, total: total, stride: stride}
	p.next.Store(rand.Uint64N(total)) // a random place in the cycle, as newRRPicker says why
	return p
}

func (p *weylPicker) Pick(*http.Request) *Endpoint {
	n := (p.next.Add(1) - 1) % p.total
	hi, lo := bits.Mul64(n, p.stride)
	slot := bits.Rem64(hi, lo, p.total)
	// The owner is the first endpoint whose run ends after slot.
	i, found := slices.BinarySearch(p.ends, slot)
	if found {
		i++
	}
	return p.eps[i]
}
