package compose

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-call collectors of composite routes, so an operator
// sees which backend makes a composite slow or partial. The route's own
// metrics (the QPS the autoscaler reads) are the gateway's, as for any route.
type Metrics struct {
	duration *prometheus.HistogramVec
	calls    *prometheus.CounterVec
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
	for _, c := range []prometheus.Collector{m.duration, m.calls} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(route, call, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(route, call, outcome).Inc()
	if outcome != "skipped" {
		m.duration.WithLabelValues(route, call).Observe(d.Seconds())
	}
}

// ForgetRoute deletes the series of a route that a reload removed.
func (m *Metrics) ForgetRoute(route string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"route": route}
	m.duration.DeletePartialMatch(l)
	m.calls.DeletePartialMatch(l)
}
