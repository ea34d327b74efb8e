package cache

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Store is the memory that the caches of every route share, bounded by a
// byte budget. Create one with NewStore, give it to New for each route, and
// Close it when the gateway stops.
//
// The entries live in an otter v2 cache rather than hashicorp/golang-lru:
// otter bounds the total weight of its entries (a Weigher returning bytes
// gives the byte budget directly; golang-lru only counts entries), expires
// each entry after its own duration, reads without a global lock, and its
// S3-FIFO eviction keeps a better hit ratio than plain LRU when one-off
// requests scan through the cache.
type Store struct {
	c       *otter.Cache[string, *node]
	max     int64
	flights flights
	fences  fences
	// urls finds the keys of a target URI (every consumer's, method's and
	// rule's) without a walk of the store, for invalidation.
	urls uriIndex
	// pending is the bytes that fetches in progress buffer to store,
	// bounded by max like the stored answers (see reserve).
	pending atomic.Int64
	metrics *Metrics
	now     func() time.Time
	closed  atomic.Bool
}

// StoreOption configures NewStore.
type StoreOption func(*Store)

// WithMetrics records the store's and its caches' activity in m.
func WithMetrics(m *Metrics) StoreOption { return func(s *Store) { s.metrics = m } }

// NewStore returns an empty store holding at most o.MaxBytes.
func NewStore(o StoreOptions, opts ...StoreOption) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Store{max: o.maxBytes(), now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	c, err := otter.New(&otter.Options[string, *node]{
		MaximumWeight: uint64(o.maxBytes()),
		Weigher:       func(key string, n *node) uint32 { return saturate(int64(len(key)) + n.weight) },
		// Entries leave the map when their last object can no longer be
		// served even stale; freshness itself is checked on each read.
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *node]) time.Duration { return e.Value.keep }),
		// Under the bucket lock, so the gauges never disagree with the map.
		OnAtomicDeletion: func(e otter.DeletionEvent[string, *node]) {
			s.metrics.removed(e.Value, int64(len(e.Key)), e.Cause)
			s.urls.remove(e.Key, e.Value)
		},
	})
	if err != nil {
		return nil, err
	}
	s.c = c
	return s, nil
}

// Close empties the store and stops its background maintenance. A store
// is closed when it is no longer used (a reload gave the routes a new one):
// its answers leave the memory and the metrics' gauges at once, and the
// requests still in flight on it store nothing more. Reads then miss.
func (s *Store) Close() {
	s.closed.Store(true)
	s.c.InvalidateAll() // after closed is set: a put either sees it or is removed here
	s.c.StopAllGoroutines()
}

// Bytes returns the weight of what the store holds, in bytes.
func (s *Store) Bytes() int64 { return int64(s.c.WeightedSize()) }

// Len returns the number of keys the store holds (each with one or more
// variants of an answer).
func (s *Store) Len() int { return s.c.EstimatedSize() }

// PurgePrefix removes every stored answer whose host and path begin with
// prefix, whatever its method, query, consumer or variant, and returns how
// many keys it removed. A prefix that begins with "/" is matched against
// the path on every host ("/users/" purges /users/1 everywhere); any
// other against host and path together ("api.example.com/users/"). The
// empty prefix purges everything. It walks the whole store: it is meant for
// operators and deploy hooks, not for the request path.
func (s *Store) PurgePrefix(prefix string) int {
	s.fences.purged(prefix) // before the walk: see put
	n := 0
	for key, v := range s.c.All() {
		if purgeMatches(prefix, v.host, v.path) {
			if _, ok := s.c.Invalidate(key); ok {
				n++
			}
		}
	}
	return n
}

// node is what one key (method, host, path, query, consumer) holds: the
// variants of its answer, one per combination of the values of the
// request headers its Vary names. A node is never modified once stored;
// writers build a new one.
type node struct {
	route      string // metrics label of the route that stored it
	host, path string
	vary       []string  // canonical header names, sorted
	objects    []*object // newest first
	// missUntil marks a key whose last answer could not be stored
	// ("hit-for-miss"): until then concurrent misses are not coalesced,
	// since waiting for the leader would gain nothing.
	missUntil time.Time
	weight    int64
	keep      time.Duration
}

// maxVariants bounds the variants of one key, so that an answer with
// Vary: User-Agent cannot fill the store with copies of itself.
const maxVariants = 16

// object is one stored answer. It is never modified once stored.
type object struct {
	status     int
	header     http.Header
	body       []byte
	varyValues []string // the request's values of node.vary when stored
	// variant is the route variant that answered (WithVariant): answers of
	// different variants of one URL are kept apart like Vary variants.
	variant string
	// stored is when the answer was generated: when it arrived minus the
	// Age the upstream reported.
	stored             time.Time
	lifetime, swr, sie time.Duration
	noStale            bool // must-revalidate or proxy-revalidate
	etag, lastModified string
	// coding is the answer's Content-Encoding ("" for none, or when the
	// request that fetched it did not accept it either): it is served only
	// to requests that accept it, whether or not the upstream said Vary:
	// Accept-Encoding.
	coding string
	weight int64
}

// Approximate bookkeeping cost of a node and an object, so that a budget
// of tiny answers still bounds memory.
const (
	nodeOverhead   = 160
	objectOverhead = 240
)

func (o *object) age(now time.Time) time.Duration {
	if a := now.Sub(o.stored); a > 0 {
		return a
	}
	return 0
}

// serveableUntil is the end of the last window in which the object can be
// served: fresh, stale-while-revalidate or stale-if-error.
func (o *object) serveableUntil() time.Time {
	d := o.lifetime
	if !o.noStale {
		d += max(o.swr, o.sie)
	}
	return o.stored.Add(d)
}

func (o *object) computeWeight() {
	w := int64(objectOverhead + len(o.body))
	for k, vs := range o.header {
		for _, v := range vs {
			w += int64(len(k) + len(v) + 4)
		}
	}
	for _, v := range o.varyValues {
		w += int64(len(v))
	}
	o.weight = w + int64(len(o.variant))
}

// match returns the variant whose vary values equal the request's.
func (n *node) match(r *http.Request) *object {
	if n == nil {
		return nil
	}
	for _, o := range n.objects {
		if o.serves(n.vary, r) {
			return o
		}
	}
	return nil
}

// serves reports whether o may answer r: the request's values of the Vary
// names are o's, and r accepts o's content coding. The coding is checked
// apart from Vary because upstreams often compress without saying Vary
// (nginx's gzip_vary is off by default), and a client that asked for
// identity — a transform client type always does — cannot use a gzip body.
func (o *object) serves(vary []string, r *http.Request) bool {
	return o.variant == variantOf(r) && varyMatches(vary, o.varyValues, r) && acceptsCodings(r.Header.Values("Accept-Encoding"), o.coding)
}

// acceptsCodings reports whether an Accept-Encoding (all its field lines)
// accepts every coding of a Content-Encoding value. A request without
// Accept-Encoding accepts none: RFC 9110 §12.5.3 would allow any, but such
// clients (curl, scripts) cannot decode what they did not ask for.
func acceptsCodings(accept []string, codings string) bool {
	for c := range strings.SplitSeq(codings, ",") {
		c = normalCoding(c)
		if c != "" && c != "identity" && !acceptsCoding(accept, c) {
			return false
		}
	}
	return true
}

func acceptsCoding(accept []string, coding string) bool {
	star := false
	for _, line := range accept {
		for elem := range strings.SplitSeq(line, ",") {
			name, params, _ := strings.Cut(elem, ";")
			name = normalCoding(name)
			if name != coding && name != "*" {
				continue
			}
			ok := positiveQ(params)
			if name == coding {
				return ok // a named coding overrides "*"
			}
			star = ok
		}
	}
	return star
}

func normalCoding(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "x-gzip" {
		return "gzip"
	}
	return s
}

// positiveQ reports whether the parameters of an Accept-Encoding element
// leave its weight above 0; a malformed weight counts as 0.
func positiveQ(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

func varyMatches(names, values []string, r *http.Request) bool {
	for i, name := range names {
		if headerValue(r.Header, name) != values[i] {
			return false
		}
	}
	return true
}

// headerValue is the value a Vary comparison uses: all field lines joined,
// with optional whitespace around commas removed.
func headerValue(h http.Header, name string) string {
	vs := h.Values(name) // the header's own slice: not to be modified
	if len(vs) == 1 && !strings.Contains(vs[0], ",") {
		return strings.TrimSpace(vs[0])
	}
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, item := range strings.Split(v, ",") {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(item))
		}
	}
	return b.String()
}

func (n *node) finish(now time.Time) {
	n.weight = int64(nodeOverhead + len(n.host) + len(n.path))
	for _, v := range n.vary {
		n.weight += int64(len(v))
	}
	last := n.missUntil
	for _, o := range n.objects {
		n.weight += o.weight
		if u := o.serveableUntil(); u.After(last) {
			last = u
		}
	}
	n.keep = max(last.Sub(now), time.Second)
}

func (s *Store) get(key string) *node {
	n, _ := s.c.GetIfPresent(key)
	return n
}

// reserve takes n bytes of the budget for answers being fetched, if they
// fit. Without it, many concurrent misses of large answers would each
// buffer up to max_object_size outside max_bytes.
func (s *Store) reserve(n int64) bool {
	for {
		cur := s.pending.Load()
		if cur+n > s.max {
			return false
		}
		if s.pending.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// put stores o under key, next to the key's other variants if they vary on
// the same headers (a changed Vary makes the old variants unreachable). It
// stores nothing if the key was invalidated or purged after the fetch
// began in fence (see fences), and reports whether it stored o.
func (s *Store) put(key string, k *reqKey, vary []string, o *object, fence uint64) bool {
	now := s.now()
	stored := false
	s.c.Compute(key, func(old *node, found bool) (*node, otter.ComputeOp) {
		// Checked under the key's lock, which invalidate takes too: an
		// invalidation recorded after this check removes what is written.
		if s.closed.Load() || s.fences.crossed(fence, key, k.host, k.path) {
			return old, otter.CancelOp
		}
		stored = true
		n := &node{route: k.route, host: k.host, path: k.path, vary: vary, objects: []*object{o}}
		if found && slices.Equal(old.vary, vary) {
			for _, prev := range old.objects {
				if len(n.objects) == maxVariants {
					break
				}
				replaced := prev.variant == o.variant && slices.Equal(prev.varyValues, o.varyValues)
				if !replaced && prev.serveableUntil().After(now) {
					n.objects = append(n.objects, prev)
				}
			}
		}
		n.finish(now)
		// Counted under the bucket lock, before any deletion of n can be.
		s.metrics.added(n, int64(len(key)))
		s.urls.add(key, n)
		return n, otter.WriteOp
	})
	// A purge walks the store without the keys' locks, and may have passed
	// this key before the write above was visible: if one was recorded
	// since the check, undo the write (the walk removes it otherwise).
	if stored && s.fences.crossed(fence, key, k.host, k.path) {
		s.c.Invalidate(key)
		return false
	}
	return stored
}

// markMiss records that key's answer could not be stored, until until.
func (s *Store) markMiss(key string, k *reqKey, until time.Time) {
	now := s.now()
	s.c.Compute(key, func(old *node, found bool) (*node, otter.ComputeOp) {
		if s.closed.Load() {
			return old, otter.CancelOp
		}
		n := &node{route: k.route, host: k.host, path: k.path, missUntil: until}
		if found {
			n.vary, n.objects = old.vary, old.objects
		}
		n.finish(now)
		// Counted under the bucket lock, before any deletion of n can be.
		s.metrics.added(n, int64(len(key)))
		s.urls.add(key, n)
		return n, otter.WriteOp
	})
}

// invalidateURI removes every answer stored for a target URI (host, path
// and the query as the key holds it): every consumer's, method's and
// variant's. It keeps fetches in progress from putting back what they
// fetched before, those of keys not stored yet included.
func (s *Store) invalidateURI(uri string) {
	// The fence first: a put that checked it before sees it after its
	// write and undoes it, or added its key to the index before this
	// lookup (see put).
	s.fences.invalidated(uri)
	for _, key := range s.urls.keys(uri) {
		s.c.Invalidate(key)
	}
}

// uriOf is the target URI part of a key: host, path and query, up to the
// first NUL (which only the consumer part after it can contain).
func uriOf(key string) string {
	if i := strings.IndexByte(key, 0); i >= 0 {
		return key[:i]
	}
	return key
}

// uriIndex maps target URIs to the keys stored under them. Entries are
// added in the write's Compute and removed in OnAtomicDeletion, both under
// the key's bucket lock, so for one key they happen in order; a removal
// takes out a key only if it still maps to the node being deleted, so the
// replacement of a node (or an expired node removed as a new one is
// written) leaves the new one indexed.
type uriIndex struct {
	mu sync.Mutex
	m  map[string]map[string]*node
}

func (x *uriIndex) add(key string, n *node) {
	uri := uriOf(key)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]map[string]*node{}
	}
	keys := x.m[uri]
	if keys == nil {
		keys = map[string]*node{}
		x.m[uri] = keys
	}
	keys[key] = n
}

func (x *uriIndex) remove(key string, n *node) {
	uri := uriOf(key)
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := x.m[uri]
	if keys[key] != n {
		return
	}
	delete(keys, key)
	if len(keys) == 0 {
		delete(x.m, uri)
	}
}

// keys returns the keys stored under uri.
func (x *uriIndex) keys(uri string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.m[uri]))
	for k := range x.m[uri] {
		out = append(out, k)
	}
	return out
}

// size is the number of URIs indexed.
func (x *uriIndex) size() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.m)
}

func saturate(n int64) uint32 {
	if n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
