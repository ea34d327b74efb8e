package balance

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
)

// Endpoint is a live upstream instance: its address plus the load and health
// state the gateway keeps for it. An Endpoint outlives discovery updates that
// keep its instance (same Instance.Key), so counters survive a re-resolve.
type Endpoint struct {
	discovery.Instance
	// URL is scheme://addr, the base URL requests are sent to.
	URL *url.URL
	// Health is written by passive and active health checking.
	Health health.State

	// load counts the requests in flight on the instance; an Endpoint that
	// replaces another for the same instance shares its counter (ShareLoad).
	load     *atomic.Int64
	inflight atomic.Int64 // load's storage unless shared
}

// NewEndpoint returns an Endpoint for inst.
func NewEndpoint(inst discovery.Instance) *Endpoint {
	scheme := inst.Scheme
	if scheme == "" {
		scheme = "http"
	}
	e := &Endpoint{Instance: inst, URL: &url.URL{Scheme: scheme, Host: inst.Addr}}
	e.load = &e.inflight
	return e
}

// InFlight returns the number of requests currently outstanding on e.
func (e *Endpoint) InFlight() int64 { return e.load.Load() }

// Acquire records the start of a request to e. Every Acquire must be
// matched by one Release.
func (e *Endpoint) Acquire() { e.load.Add(1) }

// Release records the end of a request to e.
func (e *Endpoint) Release() { e.load.Add(-1) }

// ShareLoad makes e count its requests in flight together with prev's. It
// is for an Endpoint that replaces prev for the same instance (new
// attributes, a rebuilt upstream) while requests on prev may still be in
// flight: least-request balancing then sees the instance's whole load, and
// those requests' ends are counted on e too. Call it before e is in use.
func (e *Endpoint) ShareLoad(prev *Endpoint) { e.load = prev.load }

// BaseURL returns e.URL; with HealthState it lets active health checks
// probe e (health.Target).
func (e *Endpoint) BaseURL() *url.URL { return e.URL }

// HealthState returns the health state of e (health.Target).
func (e *Endpoint) HealthState() *health.State { return &e.Health }

// EffectiveWeight returns the instance weight, at least 1.
func (e *Endpoint) EffectiveWeight() int {
	if e.Weight < 1 {
		return 1
	}
	return e.Weight
}

// ErrNoInstances is reported when an upstream has no admitted instance to
// pick.
var ErrNoInstances = errors.New("no healthy instances")

// A Picker chooses one endpoint per request from a fixed set. Implementations
// must be safe for concurrent use and should not allocate.
type Picker interface {
	// Pick returns the endpoint for r, or nil if the set is empty.
	Pick(r *http.Request) *Endpoint
}

// A Policy builds Pickers. The slice passed to Picker is owned by the Picker
// afterwards and is never modified; it holds only admitted endpoints.
type Policy interface {
	Picker(endpoints []*Endpoint) Picker
	// Name is the policy's configuration name, e.g. "round_robin".
	Name() string
}

// empty is the Picker of an empty set.
type empty struct{}

func (empty) Pick(*http.Request) *Endpoint { return nil }

// RoundRobin sends requests to each endpoint in turn, starting at a random
// one.
type RoundRobin struct{}

// Name implements Policy.
func (RoundRobin) Name() string { return "round_robin" }

// Picker implements Policy.
func (RoundRobin) Picker(eps []*Endpoint) Picker {
	if len(eps) == 0 {
		return empty{}
	}
	return newRRPicker(eps)
}

// newRRPicker starts the turn at a random endpoint. The upstream builds a new
// Picker on every change of the set, and a turn that always began at the
// first endpoint would send it the first request after every change — on
// every gateway replica that saw the change at once. grpc-java's round robin
// had this defect (a new picker per change, index 0) until it started at a
// random index: Netflix measured 3-4× the load on the first instances
// during deployments.
func newRRPicker(eps []*Endpoint) *rrPicker {
	p := &rrPicker{eps: eps}
	p.next.Store(rand.Uint64N(uint64(len(eps))))
	return p
}

type rrPicker struct {
	next atomic.Uint64
	eps  []*Endpoint
}

func (p *rrPicker) Pick(*http.Request) *Endpoint {
	n := p.next.Add(1) - 1
	return p.eps[n%uint64(len(p.eps))]
}
