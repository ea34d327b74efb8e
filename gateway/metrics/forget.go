package metrics

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed, so that
// dashboards and the autoscaler do not see a frozen counter for it.
func (m *Metrics) ForgetRoute(route string) {
	m.routes.Delete(route)
	l := prometheus.Labels{"route": route}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.inFlight.DeletePartialMatch(l)
	m.size.DeletePartialMatch(l)
	m.grpc.DeletePartialMatch(l)
}
