package authn

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed.
func (m *Metrics) ForgetRoute(route string) {
	m.failures.DeletePartialMatch(prometheus.Labels{"route": route})
}
