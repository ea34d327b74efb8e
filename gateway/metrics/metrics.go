package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/cowmap"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Metric names. They are fixed (no namespace option) because the HPA's
// metric and the dashboards refer to them by name.
const (
	RequestsTotal              = "gatescale_http_requests_total"
	RequestDuration            = "gatescale_http_request_duration_seconds"
	RequestsInFlight           = "gatescale_http_requests_in_flight"
	ResponseSize               = "gatescale_http_response_size_bytes"
	UpgradedConnectionDuration = "gatescale_http_upgraded_connection_duration_seconds"
	UpstreamRequestsTotal      = "gatescale_upstream_requests_total"
	UpstreamRequestDuration    = "gatescale_upstream_request_duration_seconds"
	UpstreamInstances          = "gatescale_upstream_instances"
	UpstreamPanic              = "gatescale_upstream_panic"
	UpstreamRetriesTotal       = "gatescale_upstream_retries_total"
	RefusedTotal               = "gatescale_http_refused_total"
	GRPCResponsesTotal         = "gatescale_grpc_responses_total"
	DiscoveryStale             = "gatescale_discovery_stale"
)

// Label values for instance states, codes and methods that have no label of
// their own.
const (
	StateHealthy   = "healthy"   // available for new requests
	StateEjected   = "ejected"   // ejected by passive health (outlier detection)
	StateUnhealthy = "unhealthy" // held down by active health checks

	CodeError   = "error" // upstream attempt that got no response
	CodeOther   = "other" // status outside 100–599
	MethodOther = "OTHER" // method outside the standard nine
)

// DefaultBuckets are the classic buckets of both duration histograms, in
// seconds: fine below 100ms where a gateway's latency lives, coarse up to
// the usual 10s timeout.
var DefaultBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultSizeBuckets are the buckets of the response size histogram, in
// bytes: 100B to 100MB by powers of ten.
var DefaultSizeBuckets = []float64{1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// upgradedBuckets are the buckets of the upgraded connection (WebSocket)
// duration histogram, in seconds: a session lasts seconds to hours.
var upgradedBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800}

// DefaultNativeBucketFactor is the growth factor between native histogram
// buckets (schema 3, about 4% relative error).
const DefaultNativeBucketFactor = 1.1

// Option configures New.
type Option func(*options)

type options struct {
	buckets      []float64
	sizeBuckets  []float64
	nativeFactor float64
}

// WithBuckets sets the classic buckets (seconds) of the request and upstream
// duration histograms.
func WithBuckets(b []float64) Option {
	return func(o *options) { o.buckets = slices.Clone(b) }
}

// WithSizeBuckets sets the buckets (bytes) of the response size histogram.
func WithSizeBuckets(b []float64) Option {
	return func(o *options) { o.sizeBuckets = slices.Clone(b) }
}

// WithNativeHistogram sets the native histogram bucket factor of the
// duration histograms; a factor of 1 or less turns native histograms off,
// leaving the classic buckets only.
func WithNativeHistogram(bucketFactor float64) Option {
	return func(o *options) { o.nativeFactor = bucketFactor }
}

// Metrics holds the gateway's collectors. Its methods are safe for
// concurrent use.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
	size      *prometheus.HistogramVec
	upgraded  *prometheus.HistogramVec
	upReqs    *prometheus.CounterVec
	upDur     *prometheus.HistogramVec
	instances *prometheus.GaugeVec
	panic     *prometheus.GaugeVec
	stale     *prometheus.GaugeVec
	retries   *prometheus.CounterVec
	refused   *prometheus.CounterVec
	grpc      *prometheus.CounterVec

	// The request path only loads a pointer and does a map lookup (plus,
	// for routes, an atomic add on entry and exit); a lock is taken the
	// first time a name is seen. routes counts each route's users so a
	// removed route's series are deleted only after its last request.
	routes    *routeseries.Set[*routeSeries]
	upstreams cowmap.Map[string, *upstreamSeries]
}

// New creates the collectors and registers them on reg. It fails, leaving
// nothing registered, if any of them cannot be registered (for example
// because a Metrics is already registered on reg) or if buckets are invalid.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	o := options{buckets: DefaultBuckets, sizeBuckets: DefaultSizeBuckets, nativeFactor: DefaultNativeBucketFactor}
	for _, opt := range opts {
		opt(&o)
	}
	// NewHistogramVec panics on bad buckets; a library returns an error.
	for _, b := range [][]float64{o.buckets, o.sizeBuckets} {
		if !increasing(b) {
			return nil, fmt.Errorf("metrics: buckets %v must be non-empty and strictly increasing", b)
		}
	}
	if reg == nil {
		return nil, errors.New("metrics: nil Registerer")
	}

	durationOpts := func(name, help string) prometheus.HistogramOpts {
		h := prometheus.HistogramOpts{Name: name, Help: help, Buckets: o.buckets}
		if o.nativeFactor > 1 {
			h.NativeHistogramBucketFactor = o.nativeFactor
			// 160 buckets at factor 1.1 span 1µs..~30min; beyond that the
			// resolution halves rather than memory growing.
			h.NativeHistogramMaxBucketNumber = 160
			h.NativeHistogramMinResetDuration = time.Hour
		}
		return h
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal,
			Help: "HTTP requests served, counted when the handler returns, by route, method and final status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(durationOpts(RequestDuration,
			"Time from the request reaching the gateway's middleware to the handler returning, by route and method; upgraded connections (101) are in "+UpgradedConnectionDuration+" instead."),
			[]string{"route", "method"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: RequestsInFlight,
			Help: "HTTP requests being served, by route.",
		}, []string{"route"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ResponseSize,
			Help:    "Response body size, by route; upgraded connections (101) have no body and are not observed.",
			Buckets: o.sizeBuckets,
		}, []string{"route"}),
		upgraded: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    UpgradedConnectionDuration,
			Help:    "Length of upgraded connections (code 101, e.g. WebSocket), from the request reaching the gateway's middleware to the connection's end, by route.",
			Buckets: upgradedBuckets,
		}, []string{"route"}),
		upReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: UpstreamRequestsTotal,
			Help: `Attempts sent to upstream instances, by upstream and status code ("error" when no response came back).`,
		}, []string{"upstream", "code"}),
		upDur: prometheus.NewHistogramVec(durationOpts(UpstreamRequestDuration,
			"Duration of one upstream attempt (from the proxy sending it until the proxy is done with it), by upstream."),
			[]string{"upstream"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: UpstreamInstances,
			Help: "Instances of each upstream by health state (healthy, ejected, unhealthy).",
		}, []string{"upstream", "state"}),
		panic: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: UpstreamPanic,
			Help: "1 while too few of the upstream's instances are healthy (panic_threshold) and it balances over all of them.",
		}, []string{"upstream"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RefusedTotal,
			Help: "Requests refused before routing (route \"(refused)\"), by reason; the reasons are a fixed set.",
		}, []string{"reason"}),
		grpc: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: GRPCResponsesTotal,
			Help: "gRPC calls answered, counted when the handler returns, by route and grpc-status (the 17 code names of the gRPC spec).",
		}, []string{"route", "grpc_code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: UpstreamRetriesTotal,
			Help: "Retried upstream attempts, by upstream and reason.",
		}, []string{"upstream", "reason"}),
		stale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: DiscoveryStale,
			Help: "1 while the upstream's discovery source is unreachable and the last known instances are used.",
		}, []string{"upstream"}),
	}
	m.routes = routeseries.New(m.newRouteSeries, m.deleteRouteSeries)
	cs := []prometheus.Collector{m.requests, m.duration, m.inFlight, m.size, m.upgraded, m.upReqs, m.upDur, m.instances, m.panic, m.retries, m.stale, m.refused, m.grpc}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

func increasing(b []float64) bool {
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			return false
		}
	}
	return len(b) > 0
}

// Middleware counts and times the requests served by next. Mount it in a
// route's middleware (route.WithMiddleware) so the route name is known from
// the start; on a plain chi router the pattern is known only at the end, so
// the in-flight gauge of such requests is labelled "unmatched".
//
// A handler it wraps belongs to the route table it was built with: once
// ForgetRoute removed a route, such a handler's requests no longer record
// into it (they are the removed route's stragglers), unless the request is
// marked as served by a handler that outlives tables
// (request.Info.OutlivesTables, as gateway.Gateway.Proxy does). A handler
// that is not rebuilt with each table and has no such mark uses
// MiddlewareAcrossReloads.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	// Wrapped when a route table is built: a table built before a route
	// was forgotten is one that had it (see ForgetRoute).
	return m.middleware(next, m.routes.Born())
}

// MiddlewareAcrossReloads is Middleware for a handler that outlives route
// tables (a router of the program's own) whose requests carry no
// request.Info marked OutlivesTables: its requests always record, also
// under the name of a route ForgetRoute removed, whose series they bring
// back — that name is still served.
func (m *Metrics) MiddlewareAcrossReloads(next http.Handler) http.Handler {
	return m.middleware(next, routeseries.Lasting)
}

func (m *Metrics) middleware(next http.Handler, wrapped *routeseries.Birth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		born := routeseries.BornOf(r, wrapped)
		rt := m.routes.Enter(outcome.Route(r), born)
		if rt != nil {
			rt.Series.inFlight.Inc()
		}
		rec := outcome.Wrap(w)
		panicked := true
		// Deferred so a panicking handler neither leaks in-flight nor goes
		// uncounted.
		defer func() {
			if rt != nil {
				rt.Series.inFlight.Dec()
			}
			// On a chi router the pattern is known only now.
			if name := outcome.Route(r); rt == nil || name != rt.Name() {
				if rt != nil {
					m.routes.Exit(rt)
				}
				if rt = m.routes.Enter(name, born); rt == nil {
					return // the route's series are gone: record nothing
				}
			}
			rs := rt.Series
			code := outcome.Status(r, rec, panicked)
			ms := rs.method(m, methodIndex(r.Method))
			ms.code(m, rs.name, statusIndex(code)).Inc()
			if code == http.StatusSwitchingProtocols {
				// A session of minutes or hours is not a request's latency:
				// in the request histogram it would move p99, which users
				// alert and may autoscale on. It has no response body either.
				rs.upgradedDuration(m).Observe(time.Since(start).Seconds())
			} else {
				ms.duration.Observe(time.Since(start).Seconds())
				rs.size.Observe(float64(rec.Bytes()))
			}
			if rs.name == request.Refused {
				m.countRefused(r)
			}
			if c, ok := grpcstatus.FromHeader(rec.Header()); ok {
				rs.grpcCode(m, c).Inc()
			}
			m.routes.Exit(rt)
		}()
		next.ServeHTTP(rec, r)
		panicked = false
	})
}

// ObserveUpstream records one upstream attempt that took d. code is the
// response status, or 0 when the attempt failed without a response. An
// upgraded attempt (101) is counted but not timed: it lasts as long as the
// session.
func (m *Metrics) ObserveUpstream(upstream string, code int, d time.Duration) {
	us := m.upstream(upstream)
	i := numCodes + 1 // "error"
	if code != 0 {
		i = statusIndex(code)
	}
	us.code(m, i).Inc()
	if code != http.StatusSwitchingProtocols { // an upgrade's attempt lasts the whole session
		us.duration.Observe(d.Seconds())
	}
}

// SetInstances sets how many instances of upstream are in each state.
func (m *Metrics) SetInstances(upstream string, healthy, ejected, unhealthy int) {
	// Called on health changes, not per request: no cache needed.
	m.instances.WithLabelValues(upstream, StateHealthy).Set(float64(healthy))
	m.instances.WithLabelValues(upstream, StateEjected).Set(float64(ejected))
	m.instances.WithLabelValues(upstream, StateUnhealthy).Set(float64(unhealthy))
}

// SetPanic records whether upstream is in panic: too few instances are
// available, so it balances over all of them (upstream.WithPanicThreshold).
func (m *Metrics) SetPanic(upstream string, panic bool) {
	v := 0.0
	if panic {
		v = 1
	}
	m.panic.WithLabelValues(upstream).Set(v)
}

// SetStale records whether upstream's discovery source is unreachable.
func (m *Metrics) SetStale(upstream string, stale bool) {
	v := 0.0
	if stale {
		v = 1
	}
	m.stale.WithLabelValues(upstream).Set(v)
}

// ObserveRetry counts a retried attempt against upstream. reason must come
// from a small fixed set (e.g. "connect", "timeout", "5xx"): it is a label.
func (m *Metrics) ObserveRetry(upstream, reason string) {
	m.upstream(upstream).retry(m, reason).Inc()
}

// ForgetUpstream deletes every series of upstream, so an upstream removed
// by a reload stops being exported. Call it after the upstream stopped
// taking requests; a later observation would create the series again.
func (m *Metrics) ForgetUpstream(upstream string) {
	m.upstreams.Delete(upstream)
	l := prometheus.Labels{"upstream": upstream}
	m.upReqs.DeletePartialMatch(l)
	m.upDur.DeletePartialMatch(l)
	m.instances.DeletePartialMatch(l)
	m.panic.DeletePartialMatch(l)
	m.retries.DeletePartialMatch(l)
	m.stale.DeletePartialMatch(l)
}

// Method and status label indexes. Bounding them here is what keeps the
// series count at routes × 10 × (codes actually seen).
var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", MethodOther}

const numMethods = len(methodNames)

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	case http.MethodConnect:
		return 7
	case http.MethodTrace:
		return 8
	}
	return numMethods - 1
}

// numCodes is the index of "other"; 0..499 are 100..599.
const numCodes = 500

var codeNames = func() (names [numCodes + 2]string) {
	for i := range numCodes {
		names[i] = strconv.Itoa(i + 100)
	}
	names[numCodes] = CodeOther
	names[numCodes+1] = CodeError
	return names
}()

func statusIndex(code int) int {
	if code < 100 || code > 599 {
		return numCodes
	}
	return code - 100
}

// routeSeries holds a route's resolved series; counters and duration
// observers are resolved lazily so only combinations that happen exist.
type routeSeries struct {
	name     string
	inFlight prometheus.Gauge
	size     prometheus.Observer
	methods  [numMethods]atomic.Pointer[methodSeries]
	grpc     [grpcstatus.NumCodes]atomic.Pointer[counter]
	upgraded atomic.Pointer[observer] // made on the first upgrade only
}

// upgradedDuration returns the route's upgraded connection histogram.
func (rs *routeSeries) upgradedDuration(m *Metrics) prometheus.Observer {
	if p := rs.upgraded.Load(); p != nil {
		return p.Observer
	}
	p := &observer{m.upgraded.WithLabelValues(rs.name)}
	rs.upgraded.CompareAndSwap(nil, p)
	return p.Observer
}

// grpcCode returns the route's counter of gRPC code c; undefined codes
// count as UNKNOWN, so the label has at most 17 values.
func (rs *routeSeries) grpcCode(m *Metrics, c grpcstatus.Code) prometheus.Counter {
	if c >= grpcstatus.NumCodes {
		c = grpcstatus.Unknown
	}
	if p := rs.grpc[c].Load(); p != nil {
		return p.Counter
	}
	p := &counter{m.grpc.WithLabelValues(rs.name, c.String())}
	rs.grpc[c].CompareAndSwap(nil, p)
	return p.Counter
}

type methodSeries struct {
	method   string
	duration prometheus.Observer
	codes    [numCodes + 1]atomic.Pointer[counter]
}

// counter and observer box the interfaces so they can sit in an
// atomic.Pointer.
type (
	counter  struct{ prometheus.Counter }
	observer struct{ prometheus.Observer }
)

func (m *Metrics) newRouteSeries(name string) *routeSeries {
	return &routeSeries{
		name:     name,
		inFlight: m.inFlight.WithLabelValues(name),
		size:     m.size.WithLabelValues(name),
	}
}

func (rs *routeSeries) method(m *Metrics, i int) *methodSeries {
	if ms := rs.methods[i].Load(); ms != nil {
		return ms
	}
	ms := &methodSeries{method: methodNames[i], duration: m.duration.WithLabelValues(rs.name, methodNames[i])}
	// WithLabelValues returns the same series to every caller, so losing
	// the race only wastes this struct.
	if rs.methods[i].CompareAndSwap(nil, ms) {
		return ms
	}
	return rs.methods[i].Load()
}

func (ms *methodSeries) code(m *Metrics, route string, i int) prometheus.Counter {
	if c := ms.codes[i].Load(); c != nil {
		return c.Counter
	}
	c := &counter{m.requests.WithLabelValues(route, ms.method, codeNames[i])}
	ms.codes[i].CompareAndSwap(nil, c)
	return c.Counter
}

type upstreamSeries struct {
	name     string
	duration prometheus.Observer
	codes    [numCodes + 2]atomic.Pointer[counter]

	mu      sync.Mutex // retries are rare; a locked map is enough
	retries map[string]prometheus.Counter
}

func (m *Metrics) upstream(name string) *upstreamSeries {
	return m.upstreams.Get(name, m.newUpstreamSeries)
}

func (m *Metrics) newUpstreamSeries(name string) *upstreamSeries {
	return &upstreamSeries{
		name:     name,
		duration: m.upDur.WithLabelValues(name),
		retries:  map[string]prometheus.Counter{},
	}
}

func (us *upstreamSeries) code(m *Metrics, i int) prometheus.Counter {
	if c := us.codes[i].Load(); c != nil {
		return c.Counter
	}
	c := &counter{m.upReqs.WithLabelValues(us.name, codeNames[i])}
	us.codes[i].CompareAndSwap(nil, c)
	return c.Counter
}

func (us *upstreamSeries) retry(m *Metrics, reason string) prometheus.Counter {
	us.mu.Lock()
	defer us.mu.Unlock()
	c, ok := us.retries[reason]
	if !ok {
		c = m.retries.WithLabelValues(us.name, reason)
		us.retries[reason] = c
	}
	return c
}

// countRefused counts a request the route table refused, by its reason.
func (m *Metrics) countRefused(r *http.Request) {
	reason := "other"
	if info := request.InfoFrom(r.Context()); info != nil {
		if e, ok := strings.CutPrefix(info.State().Error, "refused: "); ok {
			reason = e
		}
	}
	m.refused.WithLabelValues(reason).Inc()
}
