// Package routeseries tracks who records into each route's metric series, so
// that the series of a route a reload removed are deleted once nothing can
// record into them any more, and never come back.
//
// Deleting a removed route's series at once is not enough: a request that
// started on the old route table is still running, and what it records
// afterwards creates the series again, frozen for ever (and an in-flight
// gauge decremented on a fresh series is left at -1). So each route has a
// count of its users: a recorder enters before recording and exits after.
// Forget marks the route leaving; the last user out deletes its series, and
// from then on the route is gone and a recorder from before the removal
// records nothing.
//
// A recorder is told apart from one of a route of the same name added again
// by a later reload by when its handler was built: Born, read when the
// handler is wrapped (at table build time), is compared with the epoch at
// which the route was forgotten. A gone route stays in the set as a
// tombstone, so a request of an old table that reaches the recorder only
// after the route is gone is still recognised as old.
//
// The tombstone is dropped once no handler built before the removal can run
// any more, which the garbage collector tells: such a handler holds its
// Birth, so while it can still be called its Birth is reachable; when every
// Birth older than the removal has been collected (runtime.AddCleanup),
// nothing can present an old epoch again. Enter keeps its Birth reachable
// past its lookup, so an old caller always finds the tombstone. The table in
// force when a route is removed was built before the removal too, so in the
// gateway a tombstone goes after the next reload has replaced that table; a
// Birth that stays reachable (an old table kept by someone) keeps the
// tombstones of later removals, as before, but none goes too early.
//
// A handler built once, not with each table (gateway.Gateway.Proxy), marks
// its requests (request.Info.OutlivesTables); BornOf gives them an epoch
// after every removal, so they are never taken for stragglers, also in
// middleware that a program passed to the gateway and that was wrapped with
// the tables' born.
package routeseries

import (
	"math"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/cowmap"
)

// Removed is the route label under which a recorder may count what a
// request of a removed route did after the route's series were deleted
// (Enter returned nil), e.g. a refusal it answered: counted, without
// bringing the route's series back. One label value, never a route's, so
// it adds no series per removed route.
const Removed = "(removed)"

// Birth is the epoch a recording handler was built at (Set.Born). The
// handler keeps it for as long as it may record: that is what lets a gone
// route's tombstone go once no such handler is left.
type Birth struct {
	epoch uint64
	_     [16]byte // not tiny: the tiny allocator batches small objects, delaying their cleanup
}

// Lasting is the Birth of a recorder whose requests belong to no route
// table: after every removal, so it always records.
var Lasting = &Birth{epoch: math.MaxUint64}

// BornOf returns the Birth to pass to Enter for r: Lasting when r is served
// by a handler that outlives route tables (request.Info.OutlivesTables),
// else born, the one its handler was wrapped with.
func BornOf(r *http.Request, born *Birth) *Birth {
	if request.InfoFrom(r.Context()).OutlivesTables() {
		return Lasting
	}
	return born
}

// Phases of a route, in the low two bits of Route.state.
const (
	live    = 0
	leaving = 1 // forgotten; the last user out deletes the series
	gone    = 2 // series deleted; nothing records any more
	user    = 4 // one user, above the phase bits
)

// Set holds the routes of one group of collectors. Its methods are safe for
// concurrent use.
type Set[T any] struct {
	mu     sync.Mutex // serialises Forget, deletion, Born's new Birth and replacing or dropping a tombstone
	epoch  atomic.Uint64
	routes cowmap.Map[string, *Route[T]]

	current atomic.Pointer[Birth] // the Birth of the current epoch, once asked for
	births  map[uint64]bool       // epochs whose Birth has not been collected
	tombs   map[string]bool       // routes whose entry is a tombstone

	newSeries    func(route string) T
	deleteSeries func(route string)
}

// Route is one route's entry: its users and phase, and the collectors'
// per-route state (resolved series), which should be a pointer or small:
// a gone route keeps its entry as a tombstone, with Series zeroed.
type Route[T any] struct {
	name      string
	state     atomic.Int64 // users*user | phase
	forgotten atomic.Uint64
	Series    T
}

// Name returns the route's name.
func (rt *Route[T]) Name() string { return rt.name }

// New returns a Set. newSeries makes a route's state the first time the
// route is entered; deleteSeries deletes every series of a route, and is
// called once per forgotten route when its last user has left.
func New[T any](newSeries func(route string) T, deleteSeries func(route string)) *Set[T] {
	return &Set[T]{newSeries: newSeries, deleteSeries: deleteSeries, births: map[uint64]bool{}, tombs: map[string]bool{}}
}

// Born returns the Birth of the current epoch. Read it when a recording
// handler is built, keep it in the handler and pass it to Enter: a handler
// built before a route was forgotten belongs to a table that had the route.
func (s *Set[T]) Born() *Birth {
	if b := s.current.Load(); b != nil && b.epoch == s.epoch.Load() {
		return b
	}
	s.mu.Lock() // the epoch moves only under mu
	defer s.mu.Unlock()
	e := s.epoch.Load()
	if b := s.current.Load(); b != nil && b.epoch == e {
		return b
	}
	b := &Birth{epoch: e}
	s.births[e] = true
	// Weakly: the current Birth is reachable from s, and a cleanup that
	// held s would keep both for ever.
	runtime.AddCleanup(b, collected[T], birthOf[T]{weak.Make(s), e})
	s.current.Store(b)
	return b
}

// birthOf names a Birth's set and epoch for its cleanup.
type birthOf[T any] struct {
	set   weak.Pointer[Set[T]]
	epoch uint64
}

func collected[T any](b birthOf[T]) {
	if s := b.set.Value(); s != nil {
		s.collected(b.epoch)
	}
}

// collected runs once the Birth of epoch is unreachable: no handler built
// in that epoch can record any more. A tombstone is dropped when no Birth
// older than its removal is left.
func (s *Set[T]) collected(epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.births, epoch)
	oldest := uint64(math.MaxUint64)
	for e := range s.births {
		oldest = min(oldest, e)
	}
	for name := range s.tombs {
		rt, ok := s.routes.Load(name)
		if !ok || rt.state.Load()&3 != gone {
			delete(s.tombs, name)
			continue
		}
		if oldest >= rt.forgotten.Load() {
			s.routes.Delete(name)
			delete(s.tombs, name)
		}
	}
}

// Enter makes the caller a user of route and returns its entry, or nil when
// the route was forgotten and its series deleted before a handler of born
// recorded into it: then the caller records nothing. A non-nil entry must
// be given back with Exit.
func (s *Set[T]) Enter(route string, born *Birth) *Route[T] {
	for {
		rt := s.routes.Get(route, s.create)
		// A tombstone stays while a Birth older than its removal is
		// reachable: born is, up to the lookup, so an old caller finds it.
		runtime.KeepAlive(born)
		v := rt.state.Add(user)
		switch v & 3 {
		case live:
			return rt
		case leaving:
			if born.epoch >= rt.forgotten.Load() {
				// Built after the removal: the route was added again before
				// its last old user left, so it is not leaving any more.
				rt.stay()
			}
			return rt
		}
		rt.state.Add(-user)
		if born.epoch < rt.forgotten.Load() {
			return nil
		}
		// Added again after its series were deleted: a fresh entry.
		s.mu.Lock()
		if cur, _ := s.routes.Load(route); cur == rt {
			s.routes.Delete(route)
			delete(s.tombs, route)
		}
		s.mu.Unlock()
	}
}

// Exit gives back an entry from Enter. The last user of a forgotten route
// deletes its series.
func (s *Set[T]) Exit(rt *Route[T]) {
	if rt.state.Add(-user) == leaving {
		s.finish(rt)
	}
}

// Forget marks route as removed: its series are deleted now if nobody is
// recording into it, or when the last user exits.
func (s *Set[T]) Forget(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The entry is made if the route never recorded, so a request of the
	// old table arriving later still finds it forgotten.
	rt := s.routes.Get(route, s.create)
	rt.forgotten.Store(s.epoch.Add(1))
	// The old epoch's Birth is now held only by the handlers built in it,
	// so it is collected with them.
	s.current.Store(nil)
	for {
		v := rt.state.Load()
		if v&3 != live {
			break
		}
		if rt.state.CompareAndSwap(v, v|leaving) {
			break
		}
	}
	if rt.state.Load() == leaving {
		s.finishLocked(rt)
	}
}

func (s *Set[T]) create(route string) *Route[T] {
	return &Route[T]{name: route, Series: s.newSeries(route)}
}

// stay takes a leaving route back to live; the caller is a user, so it
// cannot be gone.
func (rt *Route[T]) stay() {
	for {
		v := rt.state.Load()
		if v&3 != leaving || rt.state.CompareAndSwap(v, v&^3) {
			return
		}
	}
}

func (s *Set[T]) finish(rt *Route[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(rt)
}

// finishLocked deletes the series of a leaving route without users. The
// phase moves to gone under s.mu, so an entry replacing the tombstone is
// made only after the deletion (which would otherwise delete its series).
// The tombstone stays in the set, without its state (nobody reads that
// once the route is gone: users left, and later ones back out first),
// until no Birth older than the removal is left (collected).
func (s *Set[T]) finishLocked(rt *Route[T]) {
	if rt.state.CompareAndSwap(leaving, gone) {
		s.deleteSeries(rt.name)
		var none T
		rt.Series = none
		s.tombs[rt.name] = true
	}
}
