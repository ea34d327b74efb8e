package reload

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a Loop's Prometheus metrics, named after a namespace ns:
//
//	ns_config_revision_info{revision}                  1 for the revision in force
//	ns_config_last_reload_success_timestamp_seconds    when a revision was last applied
//	ns_config_last_reload_successful                   1 if the latest attempt applied, else 0
//	ns_config_reloads_total{result="ok"|"error"}       reloads and their retries (the start-up load excluded)
//
// Create them once per registry, for one Loop: Loops sharing them (tests
// running several programs in one process) report the revision the latest
// of them applied.
type Metrics struct {
	revision    *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
	successful  prometheus.Gauge
	reloads     *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg (none if reg is
// nil).
func NewMetrics(reg prometheus.Registerer, ns string) (*Metrics, error) {
	m := &Metrics{
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_revision_info",
			Help: "The configuration revision in force (first 12 hex digits of the SHA-256 of its content), with value 1.",
		}, []string{"revision"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_success_timestamp_seconds",
			Help: "When a configuration revision was last applied, in seconds since the epoch.",
		}),
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_successful",
			Help: "1 if the latest configuration load or reload applied, 0 if it was refused.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "config_reloads_total",
			Help: "Configuration reloads and their retries, by result (ok, error).",
		}, []string{"result"}),
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	if reg != nil {
		var errs []error
		for _, c := range []prometheus.Collector{m.revision, m.lastSuccess, m.successful, m.reloads} {
			errs = append(errs, reg.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return m, nil
}
