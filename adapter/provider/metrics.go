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
	start := time.Now()
	v, err := p.opts.Prometheus.Query(ctx, promql, p.opts.Now())
	if m := p.opts.Metrics; m != nil {
		m.queryDuration.WithLabelValues(api).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		return nil, queryError(err, promql)
	}
	return v, nil
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
