package authz

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed.
func (m *Metrics) ForgetRoute(route string) {
	m.denied.DeletePartialMatch(prometheus.Labels{"route": route})
}
