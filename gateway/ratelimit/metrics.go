package ratelimit

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/internal/routeseries"
)

// Metric names, fixed like the gateway's others.
const (
	RejectedTotal    = "gatescale_ratelimit_rejected_total"
	StoreErrorsTotal = "gatescale_ratelimit_store_errors_total"
)

// Metrics counts rejections (429) by route and policy, and store failures
// by route, policy and mode ("open": let through, "closed": refused).
type Metrics struct {
	rejected    *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	routes      *routeseries.Set[struct{}] // who may still count into a route's series
}

// NewMetrics creates the collectors and registers them on reg, all or
// none.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("ratelimit metrics: nil Registerer")
	}
	m := &Metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RejectedTotal,
			Help: "Requests refused by a rate or concurrency limit (429), by route and policy.",
		}, []string{"route", "policy"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: StoreErrorsTotal,
			Help: `Requests whose rate-limit store (e.g. Redis) was unavailable, by route, policy and mode ("open": let through, "closed": refused).`,
		}, []string{"route", "policy", "mode"}),
	}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		m.rejected.DeletePartialMatch(prometheus.Labels{"route": route})
		m.storeErrors.DeletePartialMatch(prometheus.Labels{"route": route})
	})
	cs := []prometheus.Collector{m.rejected, m.storeErrors}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("ratelimit metrics: register: %w", err)
		}
	}
	return m, nil
}

// born is the epoch of a middleware wrapped now (see routeseries.Set.Born).
func (m *Metrics) born() *routeseries.Birth {
	if m == nil {
		return nil
	}
	return m.routes.Born()
}

// countRejected and countStoreError count on route, or under
// route="(removed)" with no policy (a policy is often named after its
// route) when the route was forgotten and its series deleted since the
// middleware (born) was wrapped: the request was answered all the same.
func (m *Metrics) countRejected(route string, born *routeseries.Birth, policy string) {
	rt := m.routes.Enter(route, born)
	if rt == nil {
		m.rejected.WithLabelValues(routeseries.Removed, "").Inc()
		return
	}
	m.rejected.WithLabelValues(route, policy).Inc()
	m.routes.Exit(rt)
}

func (m *Metrics) countStoreError(route string, born *routeseries.Birth, policy, mode string) {
	rt := m.routes.Enter(route, born)
	if rt == nil {
		m.storeErrors.WithLabelValues(routeseries.Removed, "", mode).Inc()
		return
	}
	m.storeErrors.WithLabelValues(route, policy, mode).Inc()
	m.routes.Exit(rt)
}
