package authn

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// FailuresTotal is the name of the failure counter. It is fixed, like the
// gateway's other metric names, because dashboards refer to it.
const FailuresTotal = "gatescale_auth_failures_total"

// Metrics counts authentication failures by route, method ("none" when no
// credentials were sent) and Reason. Share one between the middleware of
// all routes.
type Metrics struct {
	failures *prometheus.CounterVec
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
	if err := reg.Register(m.failures); err != nil {
		return nil, fmt.Errorf("authn metrics: register: %w", err)
	}
	return m, nil
}
