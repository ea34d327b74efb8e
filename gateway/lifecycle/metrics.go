package lifecycle

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// Anonymous is the consumer label of a call no consumer was identified for.
const Anonymous = "(anonymous)"

// Metrics counts the calls of deprecated routes by consumer: who still has
// to move before the sunset. The consumer label is bounded by the consumers
// the gateway knows (an identity without a consumer record counts as
// Anonymous, so a JWT subject cannot mint series).
type Metrics struct {
	calls *prometheus.CounterVec
}

// NewMetrics registers gatescale_deprecated_calls_total{route,consumer} on
// reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{calls: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatescale_deprecated_calls_total",
		Help: "Calls of deprecated routes, by route and consumer.",
	}, []string{"route", "consumer"})}
	if err := reg.Register(m.calls); err != nil {
		return nil, err
	}
	return m, nil
}

// CountDeprecated counts each call of route by its consumer. Put it after
// authentication, so the identity is known.
func (m *Metrics) CountDeprecated(route string) func(http.Handler) http.Handler {
	anon := m.calls.WithLabelValues(route, Anonymous)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := consumer.FromContext(r.Context()); id != nil && id.Consumer != nil {
				m.calls.WithLabelValues(route, id.Consumer.ID).Inc()
			} else {
				anon.Inc()
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ForgetRoute deletes a removed route's series.
func (m *Metrics) ForgetRoute(route string) {
	m.calls.DeletePartialMatch(prometheus.Labels{"route": route})
}
