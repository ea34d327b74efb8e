package compose

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/internal/routeseries"
)

// Metrics are the per-call collectors of composite routes, so an operator
// sees which backend makes a composite slow or partial. The route's own
// metrics (the QPS the autoscaler reads) are the gateway's, as for any route.
type Metrics struct {
	duration *prometheus.HistogramVec
	calls    *prometheus.CounterVec
	routes   *routeseries.Set[struct{}] // who may still record into a route's series
}

// NewMetrics registers gatescale_composite_call_duration_seconds{route,call}
// and gatescale_composite_calls_total{route,call,outcome} on reg. Outcomes:
// ok, status, error, timeout, not_json, too_large, too_many_items,
// bad_input, skipped, cancelled.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "gatescale_composite_call_duration_seconds",
			Help:                        "Duration of composite routes' backend calls (each for_each call counts once).",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"route", "call"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatescale_composite_calls_total",
			Help: "Composite routes' backend calls, by outcome.",
		}, []string{"route", "call", "outcome"}),
	}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		l := prometheus.Labels{"route": route}
		m.duration.DeletePartialMatch(l)
		m.calls.DeletePartialMatch(l)
	})
	for _, c := range []prometheus.Collector{m.duration, m.calls} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// enter makes a request of a plan built at born a user of route's series
// until exit: calls still running when the route is forgotten record, and
// the last request out deletes the series. nil (record nothing) without
// metrics, or when the series were deleted before the request came.
func (m *Metrics) enter(route string, born *routeseries.Birth) *routeseries.Route[struct{}] {
	if m == nil {
		return nil
	}
	return m.routes.Enter(route, born)
}

func (m *Metrics) exit(rt *routeseries.Route[struct{}]) {
	if rt != nil {
		m.routes.Exit(rt)
	}
}

// observe records a call of the request that entered rt.
func (m *Metrics) observe(rt *routeseries.Route[struct{}], call, outcome string, d time.Duration) {
	if rt == nil {
		return
	}
	m.calls.WithLabelValues(rt.Name(), call, outcome).Inc()
	if outcome != "skipped" {
		m.duration.WithLabelValues(rt.Name(), call).Observe(d.Seconds())
	}
}

// notMade counts a call of the request that entered rt that was never
// sent (skipped, or cancelled before it started): it has no duration.
func (m *Metrics) notMade(rt *routeseries.Route[struct{}], call, outcome string) {
	if rt == nil {
		return
	}
	m.calls.WithLabelValues(rt.Name(), call, outcome).Inc()
}

// born is the epoch of a plan built now (see routeseries.Set.Born): a plan
// built before its route was forgotten belongs to the old route table.
func (m *Metrics) born() *routeseries.Birth {
	if m == nil {
		return nil
	}
	return m.routes.Born()
}

// ForgetRoute deletes the series of a route that a reload removed, once no
// request of the old route table can record into them any more: a call
// still running when the route is removed records, and one that would
// record after the deletion does not, so the series do not come back.
func (m *Metrics) ForgetRoute(route string) {
	if m == nil {
		return
	}
	m.routes.Forget(route)
}
