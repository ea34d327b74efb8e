package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
)

// Observer receives instance counts and whether the upstream is in panic
// (WithPanicThreshold) whenever the snapshot changes, and the discovery
// state whenever it flips; the metrics package implements it.
type Observer interface {
	SetInstances(upstream string, healthy, ejected, unhealthy int)
	SetPanic(upstream string, panic bool)
	SetStale(upstream string, stale bool)
}

// Upstream is one named upstream service. Create it with New, then Start it.
type Upstream struct {
	name     string
	service  string
	resolver discovery.Resolver
	policy   balance.Policy
	passive  *health.Passive
	active   *health.Active
	panicPct int // WithPanicThreshold; 0: off
	observer Observer
	keep     func(discovery.Instance) bool
	prev     *Upstream // health to carry over (WithPredecessor); guarded by mu
	// successor took this upstream's place (its TakeOver): outcomes of
	// requests still in flight here count there.
	successor atomic.Pointer[Upstream]
	logger    *slog.Logger
	now       func() time.Time

	snap atomic.Pointer[snapshot]

	mu      sync.Mutex // guards members, stale, closed and rebuilds
	members map[string]*balance.Endpoint
	stale   error
	timers  map[*balance.Endpoint]*time.Timer
	// closed: Close was called. The upstream's name may already belong to
	// the one that replaced it, so it ejects nothing more and reports no
	// counts, whatever still reaches it (a request that was in flight, a
	// readmit timer that fired as it closed).
	closed bool
	// panicking: the last snapshot balanced over all instances; logged
	// on each change.
	panicking bool
	// prevCarried: the first instance set took prev's health; takenOver:
	// TakeOver was called, so prev is not needed after the first set.
	prevCarried, takenOver bool

	ready     chan struct{}
	readyOnce sync.Once
	resolved  atomic.Bool // a set came from the resolver, not only failures
	cancel    context.CancelFunc
	done      chan struct{}
}

type snapshot struct {
	picker   balance.Picker
	admitted []*balance.Endpoint // available: not held down, not ejected
	pool     []*balance.Endpoint // what picker balances over: admitted, or all in panic
	all      []*balance.Endpoint
	panic    bool
}

// Option configures an Upstream.
type Option func(*Upstream)

// WithPolicy sets the balancing policy (default balance.P2C).
func WithPolicy(p balance.Policy) Option { return func(u *Upstream) { u.policy = p } }

// WithService sets the name asked of the resolver when it differs from the
// upstream's name.
func WithService(name string) Option { return func(u *Upstream) { u.service = name } }

// WithPassiveHealth turns on outlier ejection.
func WithPassiveHealth(p health.Passive) Option { return func(u *Upstream) { u.passive = &p } }

// WithActiveHealth turns on active health checks.
func WithActiveHealth(a health.Active) Option { return func(u *Upstream) { u.active = &a } }

// WithPanicThreshold sets the panic threshold, a percentage from 0 to 100
// (see CheckPanicThreshold; New takes a value below 0 as 0 and above 100 as
// 100). While fewer than percent % of the upstream's instances are
// available — not held down by active checks, not ejected by passive
// health — the upstream is in panic: it balances over all its instances,
// available or not, rather than over the few left, or over none and
// answering 503 to everything. The checks may be what is wrong (a broken
// health path, a partition between the gateway and the instances), and
// then serving on beats failing every request; as in Envoy's panic
// threshold and nginx's use of all servers once all are marked failed. 0
// (the default) turns panic off: an upstream with no instance available
// has none to pick. Entering and leaving panic are logged once each, and
// the Observer is told (SetPanic).
func WithPanicThreshold(percent int) Option {
	return func(u *Upstream) { u.panicPct = min(max(percent, 0), 100) }
}

// CheckPanicThreshold reports whether percent is a valid panic threshold
// (WithPanicThreshold): 0 (off) to 100. The error says what is wrong with
// it, for the caller to place ("upstreams.users.panic_threshold: ...").
func CheckPanicThreshold(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("must be a percentage from 0 (off) to 100, not %d", percent)
	}
	return nil
}

// WithInstanceFilter keeps only the instances keep accepts, e.g. a subset
// by metadata (version=v2) for a canary upstream over a shared service.
func WithInstanceFilter(keep func(discovery.Instance) bool) Option {
	return func(u *Upstream) { u.keep = keep }
}

// WithPredecessor makes the upstream take over the health and load of
// prev's instances: it is prev rebuilt under new settings (a reload that
// changed its retries or balancer, say). Each instance of the first
// instance set that prev also has, at the same address and scheme, starts
// with prev's health at that moment rather than fresh, so an ejected
// instance or one held down by active checks gets no traffic because of
// the rebuild, and counts prev's requests in flight as its own. What
// only a mechanism the new upstream lacks could end is dropped: without
// passive health its ejection and failure run, without active checks
// their verdict. An ejection ends when the upstream's own passive health
// settings would have ended it, counted from when it began (at once if
// that time is past).
//
// prev keeps serving until the upstream replaces it: call TakeOver then,
// so what happened to prev's instances meanwhile is not lost either.
func WithPredecessor(prev *Upstream) Option { return func(u *Upstream) { u.prev = prev } }

// WithObserver reports instance counts to o.
func WithObserver(o Observer) Option { return func(u *Upstream) { u.observer = o } }

// WithLogger sets the logger for state changes (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(u *Upstream) { u.logger = l } }

// New returns an Upstream named name that follows resolver.
func New(name string, resolver discovery.Resolver, opts ...Option) *Upstream {
	u := &Upstream{
		name:     name,
		service:  name,
		resolver: resolver,
		policy:   balance.P2C{},
		logger:   slog.Default(),
		now:      time.Now,
		members:  map[string]*balance.Endpoint{},
		timers:   map[*balance.Endpoint]*time.Timer{},
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		opt(u)
	}
	u.snap.Store(&snapshot{picker: u.policy.Picker(nil)})
	return u
}

// Name returns the upstream's name.
func (u *Upstream) Name() string { return u.name }

// Start begins following the resolver (and running active checks). It
// returns at once; Close stops it.
func (u *Upstream) Start(ctx context.Context) {
	ctx, u.cancel = context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := u.resolver.Watch(ctx, u.service, u.update); err != nil && ctx.Err() == nil {
			u.logger.Error("upstream cannot be resolved", "upstream", u.name, "service", u.service, "err", err)
			u.mu.Lock()
			u.stale = err
			u.mu.Unlock()
			u.markReady()
		}
	}()
	if u.active != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.active.Run(ctx, u.targets, u.rebuild)
		}()
	}
	go func() {
		wg.Wait()
		u.mu.Lock()
		for _, t := range u.timers {
			t.Stop()
		}
		u.mu.Unlock()
		close(u.done)
	}()
}

// Close stops the upstream's watch and checks and waits for them to end.
// Requests already holding an endpoint finish normally, but their outcomes
// eject nothing more here (they count toward the upstream that took this
// one's place with TakeOver, see Observe), and the upstream reports
// nothing more to its observer: an upstream that replaces it under the
// same name owns the name's counts from then on.
func (u *Upstream) Close() {
	u.mu.Lock()
	u.closed = true
	for ep, t := range u.timers {
		t.Stop()
		delete(u.timers, ep) // a callback already running finds no timer of its own
	}
	u.mu.Unlock()
	if u.cancel != nil {
		u.cancel()
		<-u.done
	}
}

// Ready is closed once the resolver has said something: the first
// instance set, or that it cannot resolve the service (Resolved tells
// which).
func (u *Upstream) Ready() <-chan struct{} { return u.ready }

// Resolved reports whether the resolver has delivered an instance set
// (possibly empty), not only failures: an upstream whose discovery never
// answered knows of no instance, which is not the same as knowing there
// is none.
func (u *Upstream) Resolved() bool { return u.resolved.Load() }

func (u *Upstream) markReady() { u.readyOnce.Do(func() { close(u.ready) }) }

// Pick returns the endpoint for r, or nil when no instance is admitted (in
// panic, WithPanicThreshold, when the upstream has no instance at all).
func (u *Upstream) Pick(r *http.Request) *balance.Endpoint {
	return u.snap.Load().picker.Pick(r)
}

// PickOther returns an admitted endpoint (in panic, any endpoint) that is
// not in tried, or nil when every one was tried: the proxy's retry when the balancer keeps
// choosing an instance that just failed (with two instances a random
// policy does so half the time). The choice among the untried ones is
// random, so the retries of a failing instance that hashing keeps choosing
// spread over the others rather than all going to the first.
func (u *Upstream) PickOther(tried []*balance.Endpoint) *balance.Endpoint {
	pool := u.snap.Load().pool // the admitted ones, or all in panic
	untried := 0
	for _, ep := range pool {
		if !slices.Contains(tried, ep) {
			untried++
		}
	}
	if untried == 0 {
		return nil
	}
	k := rand.IntN(untried)
	for _, ep := range pool {
		if !slices.Contains(tried, ep) {
			if k == 0 {
				return ep
			}
			k--
		}
	}
	return nil // not reached
}

// Admitted returns how many endpoints are available now: neither held down
// by active checks nor ejected by passive health. In panic
// (WithPanicThreshold) requests go to the others too.
func (u *Upstream) Admitted() int { return len(u.snap.Load().admitted) }

// Panicking reports whether the upstream is in panic now: too few of its
// instances are available (WithPanicThreshold), so it balances over all
// of them.
func (u *Upstream) Panicking() bool { return u.snap.Load().panic }

// Endpoints returns all known endpoints, admitted or not.
func (u *Upstream) Endpoints() []*balance.Endpoint {
	return append([]*balance.Endpoint(nil), u.snap.Load().all...)
}

// Stale returns the resolver's last error when the instance set may be out
// of date (the source is unreachable), or nil.
func (u *Upstream) Stale() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stale
}

// ErrNoInstances is reported when an upstream has no admitted instance; it
// is balance.ErrNoInstances.
var ErrNoInstances = balance.ErrNoInstances

// Observe records the outcome of one request to ep for passive health:
// failed is a connection error or a 5xx response. Once an upstream that
// took this one's place (WithPredecessor) has called TakeOver, the outcome
// counts toward that upstream's endpoint for the same instance, if it has
// one: a request in flight across a reload is not lost to passive health.
func (u *Upstream) Observe(ep *balance.Endpoint, failed bool) {
	if next := u.successor.Load(); next != nil {
		if cur := next.member(ep); cur != nil {
			next.Observe(cur, failed)
			return
		}
	}
	if u.passive == nil {
		return
	}
	now := u.now()
	if !u.passive.Observe(&ep.Health, failed, now) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || u.members[ep.Key()] != ep || ep.Health.Ejected(now) {
		return // closed, gone from the set, or another request ejected it first
	}
	// Instances that active checks hold down are out as surely as ejected
	// ones: leaving them out of the count could eject the last instance
	// standing.
	out := 0
	for _, m := range u.members {
		if m.Health.ActiveDown() || m.Health.Ejected(now) {
			out++
		}
	}
	if !u.passive.MayEject(out, len(u.members)) {
		return
	}
	until := u.passive.Eject(&ep.Health, now)
	u.logger.Warn("instance ejected", "upstream", u.name, "instance", ep.Addr, "until", until.Format(time.RFC3339))
	if t := u.timers[ep]; t != nil {
		t.Stop()
	}
	u.readmitAt(ep, until, now)
	u.rebuildLocked()
}

// member returns the endpoint that stands for ep's instance in u now, at
// ep's address and scheme, or nil.
func (u *Upstream) member(ep *balance.Endpoint) *balance.Endpoint {
	u.mu.Lock()
	defer u.mu.Unlock()
	if cur := u.members[ep.Key()]; cur != nil && cur.Addr == ep.Addr && cur.Scheme == ep.Scheme {
		return cur
	}
	return nil
}

// readmitAt arms the timer that ends ep's ejection at until. u.mu is held.
func (u *Upstream) readmitAt(ep *balance.Endpoint, until, now time.Time) {
	var timer *time.Timer
	timer = time.AfterFunc(until.Sub(now), func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.timers[ep] != timer {
			return // removed from the set, or ejected again with a new timer
		}
		delete(u.timers, ep)
		// Readmit, not just the passing of until: it drops the failures of
		// requests that were in flight at the ejection, and it does not
		// depend on the wall clock agreeing with the timer.
		ep.Health.Readmit()
		u.logger.Info("instance re-admitted", "upstream", u.name, "instance", ep.Addr)
		u.rebuildLocked()
	})
	u.timers[ep] = timer
}

// update applies a resolver delivery.
func (u *Upstream) update(up discovery.Update) {
	u.mu.Lock()
	defer u.mu.Unlock()
	defer u.markReady()
	if u.closed {
		return // a delivery racing Close: the name's series are not ours now
	}
	if up.Err != nil {
		if u.stale == nil { // log once per state change, not per retry
			u.logger.Warn("discovery unreachable, keeping last known instances", "upstream", u.name, "instances", len(u.members), "err", up.Err)
			if u.observer != nil {
				u.observer.SetStale(u.name, true)
			}
		}
		u.stale = up.Err
		if up.Instances == nil {
			return // keep what we have
		}
	}
	u.resolved.Store(true)
	if up.Err == nil && u.stale != nil {
		u.logger.Info("discovery reachable again", "upstream", u.name)
		u.stale = nil
		if u.observer != nil {
			u.observer.SetStale(u.name, false)
		}
	}
	// The predecessor's health counts for the first set only: an instance
	// that leaves and comes back later is a new one.
	var prevMembers map[string]*balance.Endpoint
	if u.prev != nil && !u.prevCarried {
		prevMembers = u.prev.memberSet()
		// A panic that goes on across the rebuild is not entered again,
		// and one that ends with it is logged as ending.
		u.panicking = u.prev.Panicking()
		u.prevCarried = true
		if u.takenOver {
			u.prev = nil
		}
	}
	next := make(map[string]*balance.Endpoint, len(up.Instances))
	inherited := map[*balance.Endpoint]bool{}
	carried := map[*balance.Endpoint]*balance.Endpoint{}
	for _, inst := range up.Instances {
		if u.keep != nil && !u.keep(inst) {
			continue
		}
		if err := inst.Validate(); err != nil {
			u.logger.Warn("ignoring invalid instance", "upstream", u.name, "err", err)
			continue
		}
		key := inst.Key()
		old, ok := u.members[key]
		if ok && sameInstance(old.Instance, inst) {
			next[key] = old
			continue
		}
		ep := balance.NewEndpoint(inst)
		if ok && old.Addr == inst.Addr && old.Scheme == inst.Scheme {
			// Same instance at the same address with new attributes (a
			// weight, metadata): its health is still its own, so an
			// ejection or a failed active check is not forgotten.
			ep.Health.Inherit(&old.Health)
			ep.ShareLoad(old)
			inherited[ep] = true
		}
		if p := prevMembers[key]; !ok && p != nil && p.Addr == inst.Addr && p.Scheme == inst.Scheme {
			carried[ep] = p
		}
		next[key] = ep
	}
	now := u.now()
	for ep, p := range carried {
		u.adoptLocked(ep, p, now)
	}
	for key, old := range u.members {
		ep := next[key]
		if ep == old {
			continue
		}
		t := u.timers[old]
		if t == nil {
			continue
		}
		t.Stop()
		delete(u.timers, old)
		if inherited[ep] {
			if until := ep.Health.EjectedUntil(); now.Before(until) {
				u.readmitAt(ep, until, now)
			} else {
				ep.Health.Readmit() // the old timer was due
			}
		}
	}
	if len(next) > 0 && sameMembers(u.members, next) {
		// A repeated answer (a resolver's retry, a stale repetition) changes
		// nothing: a new picker would restart round robin's rotation and
		// weighted cycles at a random place. (An empty set is published
		// each time, so the first one reaches the observer.)
		return
	}
	u.members = next
	u.rebuildLocked()
}

// memberSet returns the current members by key.
func (u *Upstream) memberSet() map[string]*balance.Endpoint {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.members)
}

// TakeOver takes the predecessor's (WithPredecessor) instance health over
// once more, as it is now, and forgets the predecessor. Call it just before
// the upstream replaces the predecessor in service: the predecessor served
// on after the upstream's first instance set, and an ejection in that time
// must not be lost. From then on the outcomes of the predecessor's requests
// count toward this upstream (see Observe). Before a first set it only lets
// that set forget the predecessor once it has taken its health.
func (u *Upstream) TakeOver() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.takenOver = true
	if u.prev == nil {
		return
	}
	u.prev.successor.Store(u)
	if !u.prevCarried {
		return
	}
	prevMembers := u.prev.memberSet()
	u.prev = nil
	now := u.now()
	for key, ep := range u.members {
		if p := prevMembers[key]; p != nil && p.Addr == ep.Addr && p.Scheme == ep.Scheme {
			u.adoptLocked(ep, p, now)
		}
	}
	u.rebuildLocked()
}

// adoptLocked gives ep, of this upstream, the health and load of p, the
// same instance in the upstream this one replaces, less what this
// upstream's settings cannot act on (see WithPredecessor), and ends an
// ejection it took over on time: p's readmit timer goes with p. u.mu is
// held; ep serves no request yet.
func (u *Upstream) adoptLocked(ep, p *balance.Endpoint, now time.Time) {
	if t := u.timers[ep]; t != nil {
		t.Stop()
		delete(u.timers, ep)
	}
	ep.Health.Inherit(&p.Health)
	ep.ShareLoad(p)
	if u.passive == nil {
		ep.Health.ForgetPassive()
	} else {
		// p's settings are gone: the ejection lasts as long as this
		// upstream's would have, from when it began.
		u.passive.Reschedule(&ep.Health, now)
	}
	if u.active == nil {
		ep.Health.ForgetActive()
	}
	if until := ep.Health.EjectedUntil(); now.Before(until) {
		u.readmitAt(ep, until, now)
	} else if !until.IsZero() {
		ep.Health.Readmit()
	}
}

// sameMembers reports whether next keeps exactly the endpoints of members.
func sameMembers(members, next map[string]*balance.Endpoint) bool {
	if len(members) != len(next) {
		return false
	}
	for key, ep := range next {
		if members[key] != ep {
			return false
		}
	}
	return true
}

func sameInstance(a, b discovery.Instance) bool {
	if a.Addr != b.Addr || a.Scheme != b.Scheme || a.Weight != b.Weight || len(a.Meta) != len(b.Meta) || len(a.Tags) != len(b.Tags) {
		return false
	}
	for k, v := range a.Meta {
		if b.Meta[k] != v {
			return false
		}
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	return true
}

// targets lists the endpoints for active checks.
func (u *Upstream) targets() []health.Target {
	s := u.snap.Load()
	out := make([]health.Target, len(s.all))
	for i, ep := range s.all {
		out[i] = probeTarget{u: u, ep: ep}
	}
	return out
}

// probeTarget is an endpoint as active checks see it. A probe takes up to
// its timeout, and discovery may meanwhile replace the endpoint (a new
// weight): the result, asked for once the probe ends, goes to the endpoint
// that stands for the instance then, which inherited the old one's state,
// rather than to the replaced one, where it would be lost for an interval.
type probeTarget struct {
	u  *Upstream
	ep *balance.Endpoint
}

func (p probeTarget) BaseURL() *url.URL { return p.ep.BaseURL() }

func (p probeTarget) HealthState() *health.State {
	// Only at the probed address: a result for the old address says
	// nothing of the new one.
	if cur := p.u.member(p.ep); cur != nil {
		return &cur.Health
	}
	return &p.ep.Health
}

func (u *Upstream) rebuild() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rebuildLocked()
}

// rebuildLocked publishes a new snapshot from the members. The endpoint
// order is made stable (by key) so round robin and hash rings do not shuffle
// when nothing but health changed.
func (u *Upstream) rebuildLocked() {
	now := u.now()
	all := make([]*balance.Endpoint, 0, len(u.members))
	for _, ep := range u.members {
		all = append(all, ep)
	}
	sortByKey(all)
	admitted := make([]*balance.Endpoint, 0, len(all))
	var ejected, unhealthy int
	for _, ep := range all {
		switch {
		case ep.Health.ActiveDown():
			unhealthy++
		case ep.Health.Ejected(now):
			ejected++
		default:
			admitted = append(admitted, ep)
		}
	}
	// Below the threshold strictly, so 100 panics as soon as one instance
	// is out and 50 keeps two of four.
	inPanic := u.panicPct > 0 && len(all) > 0 && len(admitted)*100 < u.panicPct*len(all)
	pool := admitted
	if inPanic {
		pool = all
	}
	u.snap.Store(&snapshot{picker: u.policy.Picker(pool), admitted: admitted, pool: pool, all: all, panic: inPanic})
	if u.closed {
		return // the name is the successor's now
	}
	if inPanic != u.panicking {
		u.panicking = inPanic
		if inPanic {
			u.logger.Warn("upstream in panic: too few instances available, balancing over all of them",
				"upstream", u.name, "available", len(admitted), "instances", len(all), "panic_threshold", u.panicPct)
		} else {
			u.logger.Info("upstream out of panic: balancing over available instances again",
				"upstream", u.name, "available", len(admitted), "instances", len(all), "panic_threshold", u.panicPct)
		}
	}
	if u.observer != nil {
		u.observer.SetInstances(u.name, len(admitted), ejected, unhealthy)
		u.observer.SetPanic(u.name, inPanic)
	}
}

func sortByKey(eps []*balance.Endpoint) {
	slices.SortFunc(eps, func(a, b *balance.Endpoint) int { return strings.Compare(a.Key(), b.Key()) })
}
