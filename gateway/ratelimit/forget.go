package ratelimit

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed.
func (m *Metrics) ForgetRoute(route string) {
	m.rejected.DeletePartialMatch(prometheus.Labels{"route": route})
	m.storeErrors.DeletePartialMatch(prometheus.Labels{"route": route})
}
