package gathered

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRouteFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total"}, []string{"route", "code"})
	inFlight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "in_flight"}, []string{"route"})
	other := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "by_upstream_total"}, []string{"upstream"})
	reg.MustRegister(requests, inFlight, other)
	requests.WithLabelValues("orders", "200").Inc()
	requests.WithLabelValues("orders", "500").Inc()
	requests.WithLabelValues("users", "200").Inc()
	inFlight.WithLabelValues("orders").Set(1)
	other.WithLabelValues("orders").Inc() // not a route label

	if got, want := RouteFamilies(t, reg, "orders"), []string{"in_flight", "requests_total", "requests_total"}; !slices.Equal(got, want) {
		t.Errorf("orders: %v, want %v (one per series)", got, want)
	}
	if got := RouteFamilies(t, reg, "gone"); len(got) != 0 {
		t.Errorf("a route without series: %v", got)
	}
}
