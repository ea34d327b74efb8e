package balance

import (
	"cmp"
	"math"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatescale/gatescale/gateway/request"
)

// A KeyFunc derives a key from a request: here the hashing key (an empty
// key means no affinity; Hash then falls back to round robin), in package
// ratelimit the bucket (ratelimit.KeyFunc is this type), so one key function
// serves both.
type KeyFunc func(*http.Request) string

// HeaderKey returns a KeyFunc that uses the first value of the named request
// header. It does not allocate.
func HeaderKey(name string) KeyFunc {
	// Canonicalize once so the per-request lookup is a plain map read
	// (Header.Get would canonicalize, and possibly allocate, every time).
	key := textproto.CanonicalMIMEHeaderKey(name)
	return func(r *http.Request) string {
		if v := r.Header[key]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
}

// CookieKey returns a KeyFunc that uses the value of the named cookie, with
// surrounding double quotes removed. It scans the Cookie headers in place
// rather than calling Request.Cookie, which parses every cookie into a new
// slice, so it does not allocate. It is lenient: it does not validate cookie
// syntax beyond splitting on ';' and the first '='.
func CookieKey(name string) KeyFunc {
	return func(r *http.Request) string {
		for _, line := range r.Header["Cookie"] {
			for line != "" {
				var part string
				part, line, _ = strings.Cut(line, ";")
				k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
				if ok && k == name {
					if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
						v = v[1 : len(v)-1]
					}
					return v
				}
			}
		}
		return ""
	}
}

// ClientIPKey returns a KeyFunc that uses the client's address as
// request.ClientOf decides it: behind a trusted proxy (the route table's
// trusted proxies) the address that proxy forwarded, else the TCP peer's
// (the host part of RemoteAddr, as spelled there). Without a table or
// request.TrustProxies nothing is trusted. For the peer it slices the string
// and does not allocate.
func ClientIPKey() KeyFunc {
	return func(r *http.Request) string { return request.ClientOf(r, nil).Host }
}

// Defaults for Hash.
const (
	DefaultHashReplicas   = 100
	DefaultHashLoadFactor = 1.25
	// maxRingPoints bounds the ring (12 bytes per point) when weights are
	// large. Past it every endpoint's point count is scaled down alike.
	maxRingPoints = 1 << 18
)

// Hash is consistent hashing on a request key with bounded loads (Mirrokni,
// Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads"; the
// hash-balance-factor of HAProxy, Envoy's hash_balance_factor).
//
// Each endpoint owns Replicas × weight points on a 64-bit ring, placed by a
// fixed hash of its Instance.Key, so a key keeps mapping to the same
// instance across Picker rebuilds and a set change only moves the keys of the
// instances that came or went. A request goes to the owner of the first point
// clockwise from its key's hash unless that endpoint is over the load bound,
// in which case the walk continues clockwise to the next distinct endpoint
// under it. That keeps a hot key from overloading one instance while leaving
// most keys where they were.
//
// Checking the bound reads every endpoint's in-flight count (O(n) per
// pick), but only when the first candidate is busy; an idle owner is always
// under the bound.
type Hash struct {
	// Key extracts the key. Nil or an empty result means round robin.
	Key KeyFunc
	// LoadFactor c: an endpoint is eligible while InFlight()+1 <=
	// ceil(c × (total in flight + 1) / n). Values ≤ 1 mean
	// DefaultHashLoadFactor; smaller c spreads load more evenly and moves
	// more keys off their owner.
	LoadFactor float64
	// Replicas is the number of ring points per unit of weight. Values ≤ 0
	// mean DefaultHashReplicas. More points even out the share each endpoint
	// gets at the cost of a larger ring.
	Replicas int
	// KeyID names what Key extracts (e.g. "header:X-User-Id"). Functions
	// cannot be compared, so a configuration reload compares KeyID to tell
	// whether an upstream's policy changed; leave it empty and the upstream
	// is rebuilt on every reload.
	KeyID string
}

// Name implements Policy.
func (Hash) Name() string { return "hash" }

// Picker implements Policy.
func (h Hash) Picker(eps []*Endpoint) Picker {
	if len(eps) == 0 {
		return empty{}
	}
	lf := h.LoadFactor
	if lf <= 1 || math.IsNaN(lf) {
		lf = DefaultHashLoadFactor
	}
	replicas := h.Replicas
	if replicas <= 0 {
		replicas = DefaultHashReplicas
	}
	p := &hashPicker{eps: eps, key: h.Key, loadFactor: lf}
	p.rr.Store(rand.Uint64N(uint64(len(eps)))) // key-less requests: as newRRPicker says why
	p.buildRing(min(replicas, maxRingPoints))
	if len(eps) > stackSeenEndpoints {
		words := (len(eps) + 63) / 64
		p.seenPool.New = func() any { s := make([]uint64, words); return &s }
	}
	return p
}

type hashPicker struct {
	eps        []*Endpoint
	key        KeyFunc
	loadFactor float64
	hashes     []uint64
	owners     []uint32 // owners[i] is the endpoint index of hashes[i]
	rr         atomic.Uint64
	seenPool   sync.Pool // *[]uint64 bitsets for sets too large for the stack one
}

// stackSeenEndpoints is the largest set whose visited bitset lives on the
// stack during the walk.
const stackSeenEndpoints = 512

func (p *hashPicker) buildRing(replicas int) {
	counts := make([]int, len(p.eps))
	// int64: replicas × weight and their sum pass 2^31 on 32-bit platforms.
	var sum int64
	for i, e := range p.eps {
		counts[i] = int(min(int64(replicas)*int64(e.EffectiveWeight()), maxRingPoints))
		sum += int64(counts[i])
	}
	total := int(min(sum, maxRingPoints))
	if sum > maxRingPoints {
		scale := float64(maxRingPoints) / float64(sum)
		total = 0
		for i := range counts {
			counts[i] = max(1, int(float64(counts[i])*scale))
			total += counts[i]
		}
	}
	type point struct {
		hash  uint64
		owner uint32
	}
	points := make([]point, 0, total)
	for i, e := range p.eps {
		base := fnv1a(e.Key())
		for r := range counts[i] {
			// Point r of an instance depends only on its key and r, so the
			// same instance gets the same points in every Picker.
			points = append(points, point{mix64(base + uint64(r)*0x9E3779B97F4A7C15), uint32(i)})
		}
	}
	// Owner order breaks (astronomically rare) hash ties deterministically.
	slices.SortFunc(points, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.owner, b.owner))
	})
	p.hashes = make([]uint64, len(points))
	p.owners = make([]uint32, len(points))
	for i, pt := range points {
		p.hashes[i], p.owners[i] = pt.hash, pt.owner
	}
}

func (p *hashPicker) Pick(r *http.Request) *Endpoint {
	var key string
	if p.key != nil {
		key = p.key(r)
	}
	if key == "" {
		n := p.rr.Add(1) - 1
		return p.eps[n%uint64(len(p.eps))]
	}
	start, _ := slices.BinarySearch(p.hashes, mix64(fnv1a(key)))
	if start == len(p.hashes) {
		start = 0
	}
	owner := p.eps[p.owners[start]]
	if owner.InFlight() == 0 || len(p.eps) == 1 {
		return owner // the bound is at least 1, so an idle owner always fits
	}
	bound := p.bound()
	if owner.InFlight()+1 <= bound {
		return owner
	}
	var stackSeen [stackSeenEndpoints / 64]uint64
	seen := stackSeen[:]
	if len(p.eps) > stackSeenEndpoints {
		pooled := p.seenPool.Get().(*[]uint64)
		defer p.seenPool.Put(pooled)
		seen = *pooled
		clear(seen)
	}
	idx := p.owners[start]
	seen[idx/64] |= 1 << (idx % 64)
	remaining := len(p.eps) - 1
	for i := start + 1; remaining > 0; i++ {
		if i == len(p.hashes) {
			i = 0
		}
		if i == start { // every point visited (some endpoints had none left after scaling)
			break
		}
		idx := p.owners[i]
		if seen[idx/64]&(1<<(idx%64)) != 0 {
			continue
		}
		seen[idx/64] |= 1 << (idx % 64)
		remaining--
		if e := p.eps[idx]; e.InFlight()+1 <= bound {
			return e
		}
	}
	return owner // everyone is over the bound: keep affinity
}

// bound is the most requests (counting the one being placed) an endpoint may
// have in flight: ceil(LoadFactor × (total in flight + 1) / n).
func (p *hashPicker) bound() int64 {
	var total int64
	for _, e := range p.eps {
		total += e.InFlight()
	}
	return int64(math.Ceil(p.loadFactor * float64(total+1) / float64(len(p.eps))))
}

// fnv1a is 64-bit FNV-1a. It is fixed (unlike hash/maphash, whose seeds are
// per process) so ring positions are the same in every Picker and every
// gateway process.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is MurmurHash3's fmix64 finalizer. FNV-1a of short, similar strings
// ("10.0.0.1:80", "10.0.0.2:80") differs mostly in low bits; mixing spreads
// that over the whole ring. It is a bijection, so distinct inputs stay
// distinct.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
