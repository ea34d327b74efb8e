package lifecycle

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Anonymous is the consumer label of a call no consumer was identified for.
const Anonymous = "(anonymous)"

// Metrics counts the calls of deprecated routes by consumer: who still has
// to move before the sunset. The consumer label is bounded by the consumers
// the gateway knows (an identity without a consumer record counts as
// Anonymous, so a JWT subject cannot mint series).
type Metrics struct {
	calls  *prometheus.CounterVec
	routes *routeseries.Set[struct{}] // who may still count into a route's series
}

// NewMetrics registers gatescale_deprecated_calls_total{route,consumer} on
// reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{calls: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatescale_deprecated_calls_total",
		Help: "Calls of deprecated routes, by route and consumer.",
	}, []string{"route", "consumer"})}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		m.calls.DeletePartialMatch(prometheus.Labels{"route": route})
	})
	if err := reg.Register(m.calls); err != nil {
		return nil, err
	}
	return m, nil
}

// CountDeprecated counts each call of route by its consumer. Put it after
// authentication, so the identity is known.
func (m *Metrics) CountDeprecated(route string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		born := m.routes.Born() // wrapped when a route table is built
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Looked up per call, not kept: a series kept from before the
			// route was forgotten would be a deleted one.
			if rt := m.routes.Enter(route, born); rt != nil {
				who := Anonymous
				if id := consumer.FromContext(r.Context()); id != nil && id.Consumer != nil {
					who = id.Consumer.ID
				}
				m.calls.WithLabelValues(route, who).Inc()
				m.routes.Exit(rt)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ForgetRoute deletes a removed route's series, once no request of the old
// route table can count into them any more: a call that would count after
// the deletion does not, so the series do not come back.
func (m *Metrics) ForgetRoute(route string) {
	m.routes.Forget(route)
}
