package authn

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/internal/routeseries"
)

// FailuresTotal is the name of the failure counter. It is fixed, like the
// gateway's other metric names, because dashboards refer to it.
const FailuresTotal = "gatescale_auth_failures_total"

// Metrics counts authentication failures by route, method ("none" when no
// credentials were sent) and Reason. Share one between the middleware of
// all routes.
type Metrics struct {
	failures *prometheus.CounterVec
	routes   *routeseries.Set[struct{}] // who may still count into a route's series
}

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("authn metrics: nil Registerer")
	}
	m := &Metrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: FailuresTotal,
		Help: "Requests refused by authentication, by route, method and reason.",
	}, []string{"route", "method", "reason"})}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		m.failures.DeletePartialMatch(prometheus.Labels{"route": route})
	})
	if err := reg.Register(m.failures); err != nil {
		return nil, fmt.Errorf("authn metrics: register: %w", err)
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

// countFailure counts a failure of route, or under route="(removed)" when
// the route was forgotten and its series deleted since the middleware
// (born) was wrapped: the client was refused all the same.
func (m *Metrics) countFailure(route string, born *routeseries.Birth, method, reason string) {
	rt := m.routes.Enter(route, born)
	if rt == nil {
		m.failures.WithLabelValues(routeseries.Removed, method, reason).Inc()
		return
	}
	m.failures.WithLabelValues(route, method, reason).Inc()
	m.routes.Exit(rt)
}
