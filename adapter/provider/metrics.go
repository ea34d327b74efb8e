package provider

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/gatescale/gatescale/adapter/prom"
)

// Metrics are the adapter's own metrics: how its queries and discovery
// go, so that "the HPA says <unknown>" can be traced to a slow or failing
// Prometheus, a rule that matches nothing, or a metric nobody serves.
type Metrics struct {
	requests          *prometheus.CounterVec
	queryDuration     *prometheus.HistogramVec
	servedMetrics     *prometheus.GaugeVec
	discoveryDuration prometheus.Histogram
	discoveredSeries  prometheus.Gauge
	discoveryErrors   prometheus.Counter
}

// NewMetrics creates the adapter's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatescale_adapter_requests_total",
			Help: "Metric requests answered, by API (custom, external, resource) and result (ok, not_found, unavailable, error).",
		}, []string{"api", "result"}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatescale_adapter_prometheus_query_duration_seconds",
			Help:    "Time Prometheus took to answer the adapter's queries, by API.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		servedMetrics: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatescale_adapter_served_metrics",
			Help: "Metrics served, by API; for custom metrics each metric counts once per resource.",
		}, []string{"api"}),
		discoveryDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatescale_adapter_discovery_duration_seconds",
			Help:    "Time one series discovery run took.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		discoveredSeries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatescale_adapter_discovered_series",
			Help: "Series the last discovery run listed, over all selectors.",
		}),
		discoveryErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatescale_adapter_discovery_errors_total",
			Help: "Selectors whose series listing failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.queryDuration, m.servedMetrics, m.discoveryDuration, m.discoveredSeries, m.discoveryErrors)
	}
	return m
}

// ObserveDiscovery records a discovery run; pass it as the Discoverer's
// Observe hook.
func (m *Metrics) ObserveDiscovery(s *prom.Snapshot) {
	if m == nil {
		return
	}
	m.discoveryDuration.Observe(s.Duration.Seconds())
	n := 0
	for _, c := range s.Count {
		n += c
	}
	m.discoveredSeries.Set(float64(n))
	m.discoveryErrors.Add(float64(len(s.Errors)))
}

// query runs promql and maps its errors to API statuses.
func (p *Provider) query(ctx context.Context, api, promql string) (model.Value, error) {
	v, err := p.queryProm(ctx, api, promql)
	if err != nil {
		return nil, queryError(err, promql)
	}
	return v, nil
}

// queryProm runs promql, timing it, and returns Prometheus's own error.
func (p *Provider) queryProm(ctx context.Context, api, promql string) (model.Value, error) {
	start := time.Now()
	v, err := p.opts.Prometheus.Query(ctx, promql, p.opts.Now())
	if m := p.opts.Metrics; m != nil {
		m.queryDuration.WithLabelValues(api).Observe(time.Since(start).Seconds())
	}
	return v, err
}

// queryEntry runs the query of a served metric, base being its rule's
// query, and returns the answer and the PromQL sent. A smoothing forecast
// that the server refuses because it knows the function by its other name
// is sent again, once, with that name.
func (p *Provider) queryEntry(ctx context.Context, api, metric string, e entry, base string) (model.Value, string, error) {
	promql := p.render(e, base)
	v, err := p.queryProm(ctx, api, promql)
	if err != nil && p.switchSmoothing(e, err) {
		promql = p.render(e, base)
		v, err = p.queryProm(ctx, api, promql)
	}
	switch {
	case err == nil:
		if e.fc != nil && e.fc.spec.Smooths() {
			p.smoothingDisabledLogged.Store(false)
		}
		return v, promql, nil
	case smoothingDisabled(err):
		err = smoothingDisabledError(metric, e, err)
		// Once until a smoothing query succeeds again: the HPA asks
		// every 15 s, and each answer carries the message anyway.
		if !p.smoothingDisabledLogged.Swap(true) {
			p.opts.Logger.Error("a forecast cannot run", "err", err)
		}
		return nil, promql, apiInternal(err)
	default:
		return nil, promql, queryError(err, promql)
	}
}

func (p *Provider) count(api string, err error) {
	m := p.opts.Metrics
	if m == nil {
		return
	}
	result := "ok"
	var se apierrors.APIStatus
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Status().Code == 404:
		result = "not_found"
	case errors.As(err, &se) && se.Status().Code == 503:
		result = "unavailable"
	default:
		result = "error"
	}
	m.requests.WithLabelValues(api, result).Inc()
}

func apiInternal(err error) error { return apierrors.NewInternalError(err) }

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
