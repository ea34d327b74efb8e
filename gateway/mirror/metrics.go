package mirror

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/internal/routeseries"
)

// Metrics counts mirrored requests in
// gatescale_mirror_requests_total{route, upstream, outcome}. One Metrics
// serves every route of a gateway across reloads.
type Metrics struct {
	requests *prometheus.CounterVec
	routes   *routeseries.Set[struct{}] // who may still record into a route's series
}

// NewMetrics registers gatescale_mirror_requests_total on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatescale_mirror_requests_total",
		Help: "Copies of routes' requests for their mirror upstreams, by outcome: sent, error, timeout, cancelled, dropped (too many in flight), skipped_body (body over max_body_bytes or not received whole), skipped_stream (a gRPC call: its body is a stream).",
	}, []string{"route", "upstream", "outcome"})}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		m.requests.DeletePartialMatch(prometheus.Labels{"route": route})
	})
	if err := reg.Register(m.requests); err != nil {
		return nil, err
	}
	return m, nil
}

// enter makes a copy of a Mirror built at born a user of route's series
// until exit: a copy still in flight when its route is forgotten records,
// and the last one out deletes the series. nil (record nothing) without
// metrics, or when the series were deleted before the copy started.
func (m *Metrics) enter(route string, born *routeseries.Birth) *routeseries.Route[struct{}] {
	if m == nil {
		return nil
	}
	return m.routes.Enter(route, born)
}

// exit counts outcome for the copy that entered rt, and gives rt back.
func (m *Metrics) exit(rt *routeseries.Route[struct{}], upstream, outcome string) {
	if rt == nil {
		return
	}
	m.requests.WithLabelValues(rt.Name(), upstream, outcome).Inc()
	m.routes.Exit(rt)
}

func (m *Metrics) born() *routeseries.Birth {
	if m == nil {
		return nil
	}
	return m.routes.Born()
}

// ForgetRoute deletes the series of a route that a reload removed, once no
// Mirror built before the removal can record into them any more.
func (m *Metrics) ForgetRoute(route string) {
	if m == nil {
		return
	}
	m.routes.Forget(route)
}

// ForgetUpstream deletes the series of a mirror upstream that a reload
// removed, as the gateway does with the upstream's own series: call it
// once the upstream is out of the configuration (a copy still in flight
// to it would create its series again).
func (m *Metrics) ForgetUpstream(upstream string) {
	if m == nil {
		return
	}
	m.requests.DeletePartialMatch(prometheus.Labels{"upstream": upstream})
}

// ForgetRouteUpstream deletes route's series for a mirror upstream the
// route no longer mirrors to (a reload removed its mirror or moved it to
// another upstream), which would otherwise stay, frozen, as long as the
// route and the upstream do. Like ForgetUpstream, a copy still in flight
// then creates its series again.
func (m *Metrics) ForgetRouteUpstream(route, upstream string) {
	if m == nil {
		return
	}
	m.requests.DeletePartialMatch(prometheus.Labels{"route": route, "upstream": upstream})
}
