package cache

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

// HeaderXCache is the response header that says how the cache answered:
// Hit, Miss or Stale. Requests the cache does not handle (see Bypass in
// the package documentation) get no X-Cache header.
const HeaderXCache = "X-Cache"

// Values of X-Cache.
const (
	Hit   = "HIT"   // from the store (or from a concurrent request's fetch)
	Miss  = "MISS"  // fetched from the upstream by this request
	Stale = "STALE" // from the store after its freshness ran out
)

// hitForMiss is how long a key whose answer could not be stored is
// fetched without coalescing (see node.missUntil).
const hitForMiss = 10 * time.Second

// Cache is one route's response cache: its Policy over a shared Store.
// Use Middleware for a route that proxies, Do for answers a Go handler
// computes (composite routes).
type Cache struct {
	store  *Store
	policy Policy
	query  map[string]bool // nil: every parameter is part of the key
	// rule says how the query enters the key (see keyRule); it is part of
	// the key, so that after a reload that changes it the answers stored
	// under the old rule are not found for requests it told apart.
	rule   string
	maxObj int64
	// coalesceTimeout bounds a waiter's wait (Policy.CoalesceTimeout).
	coalesceTimeout time.Duration
}

// New returns a cache for one route. It fails with *FieldError values if
// p is not valid.
func New(s *Store, p Policy) (*Cache, error) {
	if s == nil {
		return nil, errors.New("cache: nil Store")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.maxObjectSize() > s.max {
		return nil, &FieldError{Field: "max_object_size", Message: "must not exceed the store's max_bytes (" + strconv.FormatInt(s.max, 10) + ")"}
	}
	c := &Cache{store: s, policy: p, rule: keyRule(p), maxObj: p.maxObjectSize(), coalesceTimeout: p.coalesceTimeout()}
	if len(p.QueryParams) > 0 {
		c.query = map[string]bool{}
		for _, q := range p.QueryParams {
			c.query[q] = true
		}
	}
	return c, nil
}

// keyRule is the part of p that decides which requests share a key:
// empty for the default (every query parameter counts), so that the keys
// of most routes carry nothing extra. It contains no space but its first
// byte, and no NUL.
func keyRule(p Policy) string {
	var rule string
	switch {
	case p.IgnoreQuery:
		rule = " ignore_query"
	case len(p.QueryParams) > 0:
		names := make([]string, len(p.QueryParams))
		for i, q := range p.QueryParams {
			names[i] = url.QueryEscape(q)
		}
		slices.Sort(names)
		rule = " query_params=" + strings.Join(names, ",")
	}
	// Requests with cookies share keys with those without: an operator
	// who stops trusting the upstream with them must not find the answers
	// fetched with a session.
	if p.AllowCookie {
		rule += " allow_cookie"
	}
	return rule
}

type variantKey struct{}

// WithVariant returns a context saying that the request was assigned the
// route variant name (a canary chosen by a weighted draw) before it reached
// the cache. Answers are stored per variant under the URL's key: a request
// is served only an answer fetched for its own variant, so each variant's
// share of the clients holds while its answers are cached. Purges and
// invalidations of the URL remove every variant's answers. The empty name
// is no variant.
func WithVariant(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, variantKey{}, name)
}

func variantOf(r *http.Request) string {
	v, _ := r.Context().Value(variantKey{}).(string)
	return v
}

// Store returns the store the cache keeps its answers in.
func (c *Cache) Store() *Store { return c.store }

// reqKey is what the cache derived from a request.
type reqKey struct {
	route      string
	host, path string
	primary    string // the store key, before Vary
	// authz: the request carries an Authorization header no authenticator
	// vouched for (Policy.AllowAuthorization).
	authz bool
	cc    Directives // the request's Cache-Control (empty if ignored)
}

// key returns the request's key, or ok false when the cache must not
// handle the request at all.
func (c *Cache) key(r *http.Request) (k *reqKey, ok bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, false
	}
	h := r.Header
	// Ranges, upgrades and GETs with a body are rare and would each need
	// their own rules: they pass through.
	if h.Get("Range") != "" || h.Get("Upgrade") != "" || r.ContentLength != 0 {
		return nil, false
	}
	k = &reqKey{route: outcome.Route(r)}
	if !c.policy.IgnoreClientCacheControl {
		k.cc = ParseCacheControl(h.Values("Cache-Control"))
		if len(h.Values("Cache-Control")) == 0 && strings.Contains(strings.ToLower(h.Get("Pragma")), "no-cache") {
			k.cc.NoCache = true
		}
		if k.cc.HasMaxAge && k.cc.MaxAge == 0 {
			k.cc.NoCache = true // what browsers send on reload: "revalidate"
		}
		if k.cc.NoStore {
			return nil, false
		}
	}
	var scope string
	if id := consumer.FromContext(r.Context()); !id.Anonymous() {
		if c.policy.Authenticated == NoCache {
			return nil, false
		}
		scope = consumerScope(id)
	} else if h.Get("Authorization") != "" {
		if !c.policy.AllowAuthorization {
			return nil, false
		}
		k.authz = true
	}
	if !c.policy.AllowCookie && h.Get("Cookie") != "" {
		return nil, false
	}
	var uri string
	if k.host, k.path, uri, ok = c.target(r); !ok {
		return nil, false
	}
	// The target URI first so that PurgePrefix matches key prefixes and
	// uriOf finds it; NUL cannot occur in any part but the consumer ID,
	// which comes last; the method is a token, so the rule (which begins
	// with a space) cannot run into it.
	k.primary = uri + "\x00" + r.Method + c.rule + "\x00" + scope
	return k, true
}

// target returns the host, the path and the target URI of r as keys hold
// it (host, path, "?" and the query parameters that are part of the key),
// or ok false for a query the cache does not parse.
func (c *Cache) target(r *http.Request) (host, path, uri string, ok bool) {
	var query string
	if !c.policy.IgnoreQuery && r.URL.RawQuery != "" {
		vals, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", "", "", false // an upstream may read a malformed query its own way
		}
		if c.query != nil {
			for name := range vals {
				if !c.query[name] {
					delete(vals, name)
				}
			}
		}
		query = vals.Encode() // sorted by name
	}
	host = strings.ToLower(r.Host)
	path = r.URL.EscapedPath()
	return host, path, host + path + "?" + query, true
}

// consumerScope is the key part of an authenticated request: the consumer
// and what its credential grants, since two tokens of one consumer may
// carry different scopes and the upstream may answer them differently.
func consumerScope(id *consumer.Identity) string {
	var b strings.Builder
	b.WriteString(id.ConsumerID)
	for _, set := range [][]string{id.Scopes, id.Roles, id.Groups} {
		b.WriteByte(0)
		s := slices.Clone(set)
		slices.Sort(s)
		b.WriteString(strings.Join(s, "\x01"))
	}
	return b.String()
}

// state is what the store can do for a request.
type state int

const (
	absent       state = iota
	fresh              // serve it
	revalidate         // serve it stale and refresh in the background
	staleIfError       // fetch; serve it if the upstream fails
)

func (c *Cache) state(o *object, k *reqKey, now time.Time) state {
	if o == nil {
		return absent
	}
	age := o.age(now)
	cc := k.cc
	if age < o.lifetime && !cc.NoCache && (!cc.HasMaxAge || age <= cc.MaxAge) {
		return fresh
	}
	if o.noStale {
		return absent
	}
	// A client that asked for a fresh answer (no-cache, max-age) does not
	// get a stale one unless the upstream fails.
	if age < o.lifetime+o.swr && !cc.NoCache && !cc.HasMaxAge {
		return revalidate
	}
	if age < o.lifetime+o.sie {
		return staleIfError
	}
	return absent
}

// Middleware caches next's answers to GET and HEAD requests. Other
// methods pass through; a successful one invalidates the stored GET and
// HEAD answers of its URL (RFC 9111 §4.4): the shared ones and every
// consumer's.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serve(w, r, next)
	})
}

func (c *Cache) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.passUnsafe(w, r, next)
		return
	}
	k, ok := c.key(r)
	if !ok {
		c.store.metrics.count(outcome.Route(r), ResultBypass)
		if c.onlyIfCached(r) {
			// The cache stores nothing for this request, so it has nothing
			// to answer with.
			c.unavailable(w, r, "")
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	now := c.store.now()
	n := c.store.get(k.primary)
	o := n.match(r)
	var stale *object
	switch c.state(o, k, now) {
	case fresh:
		c.store.metrics.count(k.route, ResultHit)
		c.write(w, r, o, Hit, now)
		return
	case revalidate:
		c.store.metrics.count(k.route, ResultStale)
		c.write(w, r, o, Stale, now)
		if !k.cc.OnlyIfCached { // this request must not cause an upstream call
			c.refresh(r, k, flightKey(k, n, r), o, func(rr *http.Request, t *tee) { next.ServeHTTP(t, rr) })
		}
		return
	case staleIfError:
		stale = o
	}
	if k.cc.OnlyIfCached {
		// Stale-if-error allows a stale answer only when the upstream
		// fails, and this request does not ask it.
		c.store.metrics.count(k.route, ResultMiss)
		c.unavailable(w, r, Miss)
		return
	}
	if n != nil && n.missUntil.After(now) {
		c.fetch(w, r, next, k, stale)
		return
	}
	fk := flightKey(k, n, r)
	f, leader, got := c.join(fk, k, r, o)
	if got != nil {
		c.store.metrics.count(k.route, ResultCoalesced)
		c.write(w, r, got, Hit, c.store.now())
		return
	}
	if leader {
		c.lead(w, r, next, k, fk, f, stale)
		return
	}
	timer := time.NewTimer(c.coalesceTimeout - time.Since(f.started))
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		// The shared fetch takes too long (it may hang): fetch alone.
		c.store.flights.leave(f)
		c.fetch(w, r, next, k, stale)
		return
	case <-r.Context().Done():
		// This client is gone; the shared fetch goes on for the others
		// (if there are any).
		c.store.flights.leave(f)
		c.store.metrics.count(k.route, ResultCoalesced)
		return
	}
	switch {
	case f.obj != nil && f.obj.serves(f.vary, r):
		c.store.metrics.count(k.route, ResultCoalesced)
		c.write(w, r, f.obj, Hit, c.store.now())
	case f.failed && stale != nil:
		c.store.metrics.count(k.route, ResultStale)
		c.write(w, r, stale, Stale, c.store.now())
	default:
		// The answer could not be shared (not storable, too large, or for
		// other Vary values): fetch this one alone.
		c.fetch(w, r, next, k, stale)
	}
}

// onlyIfCached reports whether a request the cache does not handle asked
// for a stored answer only (the cache's key parses it for those it does).
func (c *Cache) onlyIfCached(r *http.Request) bool {
	if c.policy.IgnoreClientCacheControl || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	cc := r.Header.Values("Cache-Control")
	return len(cc) > 0 && ParseCacheControl(cc).OnlyIfCached
}

// unavailable is the answer to only-if-cached when the store has none the
// request accepts: 504 (RFC 9111 §5.2.1.7). xcache is the X-Cache value,
// "" for a request the cache does not handle.
func (c *Cache) unavailable(w http.ResponseWriter, r *http.Request, xcache string) {
	if xcache != "" {
		w.Header().Set(HeaderXCache, xcache)
	}
	problem.Write(w, problem.Details{Status: http.StatusGatewayTimeout, Route: outcome.Route(r),
		Detail: "only-if-cached: no stored answer satisfies the request"})
}

// flightKey is the key concurrent misses coalesce on: the store key and,
// when the stored answer named Vary headers, the request's values of them.
// With no stored answer the Vary headers are unknown; waiters then check
// the leader's answer against their own request.
func flightKey(k *reqKey, n *node, r *http.Request) string {
	variant := variantOf(r)
	if (n == nil || len(n.vary) == 0) && variant == "" {
		return k.primary
	}
	var b strings.Builder
	b.WriteString(k.primary)
	if variant != "" {
		// Each variant fetches its own answer: a waiter would not be
		// given another variant's.
		b.WriteString("\x00variant=")
		b.WriteString(variant)
	}
	if n == nil {
		return b.String()
	}
	for _, name := range n.vary {
		b.WriteByte(0)
		b.WriteString(headerValue(r.Header, name))
	}
	return b.String()
}

// join joins the flight for fk, or starts it. A new leader looks at the
// store again first: a flight that finished between the caller's lookup
// and this join has stored its answer by now, and fetching it again would
// double the upstream calls. got is that answer.
func (c *Cache) join(fk string, k *reqKey, r *http.Request, seen *object) (f *flight, leader bool, got *object) {
	f, leader = c.store.flights.join(fk, c.coalesceTimeout)
	if !leader {
		return f, false, nil
	}
	n := c.store.get(k.primary)
	if o := n.match(r); o != nil && o != seen && c.state(o, k, c.store.now()) == fresh {
		f.obj, f.vary = o, n.vary
		c.store.flights.finish(fk, f)
		return f, false, o
	}
	return f, true, nil
}

// lead fetches the answer for every request waiting on f, streaming it to
// this request's client as it comes. The upstream call does not end when
// this client goes away, because the waiters need it; once the answer
// turns out not to be shareable, or no waiter is left, it does.
func (c *Cache) lead(w http.ResponseWriter, r *http.Request, next http.Handler, k *reqKey, fk string, f *flight, stale *object) {
	finished := false
	finish := func(obj *object, vary []string, failed bool) {
		if finished {
			return
		}
		finished = true
		f.obj, f.vary, f.failed = obj, vary, failed
		c.store.flights.finish(fk, f)
	}
	// If next panicked (e.g. http.ErrAbortHandler): release the waiters.
	defer finish(nil, nil, true)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	// Once this client is gone, the call goes on only while waiters want
	// it: a call that hangs must not hold the key with nobody waiting.
	defer context.AfterFunc(r.Context(), func() { c.store.flights.leaderLeft(f, cancel) })()
	fence := c.store.fences.begin()
	defer c.store.fences.end(fence)
	t := c.newTee(w, r, k, stale, cancel, fence)
	defer t.release()
	// The waiters will not be given an answer that cannot be stored: they
	// go and fetch their own as soon as that is known.
	t.onUnshare = func() { finish(nil, nil, t.status >= 500) }
	next.ServeHTTP(t, withoutValidators(r.WithContext(ctx)))
	obj, failed := t.finish()
	finish(obj, t.vary, failed)
	c.served(w, r, t, stale)
}

// fetch gets the answer for this request alone, storing it if it can.
func (c *Cache) fetch(w http.ResponseWriter, r *http.Request, next http.Handler, k *reqKey, stale *object) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	fence := c.store.fences.begin()
	defer c.store.fences.end(fence)
	t := c.newTee(w, r, k, stale, cancel, fence)
	defer t.release()
	next.ServeHTTP(t, withoutValidators(r.WithContext(ctx)))
	t.finish()
	c.served(w, r, t, stale)
}

// served counts a fetch, and sends the stale answer if the upstream failed.
func (c *Cache) served(w http.ResponseWriter, r *http.Request, t *tee, stale *object) {
	if t.suppressed {
		c.store.metrics.count(t.k.route, ResultStale)
		c.write(w, r, stale, Stale, c.store.now())
		return
	}
	c.store.metrics.count(t.k.route, ResultMiss)
}

// refresh runs fill in the background, once per key at a time, to replace
// a stale answer. fill gets a copy of r for the background: its own
// context, no body, no validators.
func (c *Cache) refresh(r *http.Request, k *reqKey, fk string, seen *object, fill func(*http.Request, *tee)) {
	f, leader := c.store.flights.join(fk, c.coalesceTimeout)
	if !leader {
		return // a refresh or a fetch is already under way
	}
	if c.store.get(k.primary).match(r) != seen {
		// Replaced since this request looked: the refresh that did it
		// finished between the lookup and the join.
		c.store.flights.finish(fk, f)
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	// The refresh outlives the request: give it its own request.Info, which
	// the proxy fills in while outer middleware reads the request's.
	if info := request.InfoFrom(ctx); info != nil {
		client, _ := info.Client()
		ctx = request.WithInfo(ctx, request.NewInfo(info.Route, info.State().Upstream, client))
	}
	rr := detach(ctx, r) // here: r is not to be read once this request is done
	go func() {
		defer cancel()
		fence := c.store.fences.begin()
		defer c.store.fences.end(fence)
		t := c.newTee(nil, rr, k, nil, cancel, fence)
		defer t.release()
		aborted := true
		func() {
			// There is no server above this goroutine to recover a panic:
			// an upstream answer that broke off (the proxy panics with
			// http.ErrAbortHandler) is just not stored.
			defer func() { _ = recover() }()
			fill(rr, t)
			aborted = false
		}()
		if aborted {
			f.failed = true
		} else if f.obj, f.failed = t.finish(); f.obj != nil {
			f.vary = t.vary
		}
		c.store.flights.finish(fk, f)
	}()
}

// detach returns r for a background fetch: the context of the refresh,
// no body, no validators.
func detach(ctx context.Context, r *http.Request) *http.Request {
	r2 := r.Clone(ctx)
	r2.Body, r2.ContentLength = http.NoBody, 0
	r2.Header.Del("If-None-Match")
	r2.Header.Del("If-Modified-Since")
	return r2
}

// withoutValidators drops the client's If-None-Match and If-Modified-Since
// so that the upstream sends a full answer the store can keep; the cache
// answers the condition itself.
func withoutValidators(r *http.Request) *http.Request {
	if r.Header.Get("If-None-Match") == "" && r.Header.Get("If-Modified-Since") == "" {
		return r
	}
	r.Header = r.Header.Clone()
	r.Header.Del("If-None-Match")
	r.Header.Del("If-Modified-Since")
	return r
}

// passUnsafe forwards a request with an unsafe method and, if it
// succeeds, invalidates every stored answer of its target URI (RFC 9111
// §4.4): GET and HEAD, shared and every consumer's, through the store's
// index of keys by URI rather than a walk of the store.
func (c *Cache) passUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c.store.metrics.count(outcome.Route(r), ResultBypass)
	rec := outcome.Wrap(w)
	next.ServeHTTP(rec, r)
	if s := rec.Status(); s == 0 || s >= 400 || r.Method == http.MethodOptions || r.Method == http.MethodTrace {
		return
	}
	if _, _, uri, ok := c.target(r); ok {
		c.store.invalidateURI(uri)
	}
}

// write sends o to the client, answering its conditional request itself.
func (c *Cache) write(w http.ResponseWriter, r *http.Request, o *object, result string, now time.Time) {
	h := w.Header()
	copyHeader(h, o.header)
	h.Set("Age", strconv.FormatInt(int64(o.age(now)/time.Second), 10))
	h.Set(HeaderXCache, result)
	if notModified(r, o.status, o.etag, o.lastModified) {
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(o.status)
	if r.Method != http.MethodHead && len(o.body) > 0 {
		_, _ = w.Write(o.body)
	}
}

// copyHeader copies src into dst with one allocation for all the values.
// The slices are clipped, so that an Add by outer middleware reallocates
// instead of writing into the stored answer.
func copyHeader(dst, src http.Header) {
	n := 0
	for _, vs := range src {
		n += len(vs)
	}
	all := make([]string, 0, n)
	for k, vs := range src {
		start := len(all)
		all = append(all, vs...)
		dst[k] = all[start:len(all):len(all)]
	}
}

// notModified evaluates the request's validators against an answer
// (RFC 9110 §13.2.2): If-None-Match wins over If-Modified-Since.
func notModified(r *http.Request, status int, etag, lastModified string) bool {
	if status != http.StatusOK {
		return false
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		return etag != "" && etagMatches(inm, etag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || lastModified == "" {
		return false
	}
	since, err1 := http.ParseTime(ims)
	mod, err2 := http.ParseTime(lastModified)
	return err1 == nil && err2 == nil && !mod.After(since)
}

// etagMatches is the weak comparison If-None-Match uses.
func etagMatches(list []string, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for _, v := range list {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}
