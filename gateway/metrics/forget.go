package metrics

import "github.com/prometheus/client_golang/prometheus"

// ForgetRoute deletes the series of a route that a reload removed, so that
// dashboards and the autoscaler do not see a frozen counter for it.
func (m *Metrics) ForgetRoute(route string) {
	m.mu.Lock()
	m.routes.Store(without(*m.routes.Load(), route))
	m.mu.Unlock()
	l := prometheus.Labels{"route": route}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.inFlight.DeletePartialMatch(l)
	m.size.DeletePartialMatch(l)
	m.grpc.DeletePartialMatch(l)
}

// without returns a copy of m without key (m itself when key is absent):
// readers hold the old map, so it is never changed in place.
func without[V any](m map[string]V, key string) *map[string]V {
	if _, ok := m[key]; !ok {
		return &m
	}
	next := make(map[string]V, len(m))
	for k, v := range m {
		if k != key {
			next[k] = v
		}
	}
	return &next
}
