package metrics

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed, so that
// dashboards and the autoscaler do not see a frozen counter for it. Call it
// after the table without the route is in use. Requests still running on
// the old table are counted as usual and the last one out deletes the
// series; one of the old table that records only after that records
// nothing, so the series do not come back. A route of the same name in a
// table built later is a new route: its series are its own.
func (m *Metrics) ForgetRoute(route string) {
	m.routes.Forget(route)
}

func (m *Metrics) deleteRouteSeries(route string) {
	l := prometheus.Labels{"route": route}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.inFlight.DeletePartialMatch(l)
	m.size.DeletePartialMatch(l)
	m.upgraded.DeletePartialMatch(l)
	m.grpc.DeletePartialMatch(l)
}
