// Package gathered reads what a Prometheus registry gathers, for tests that
// check which series a route has (e.g. none left once a reload removed it).
package gathered

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// RouteFamilies returns, for each series of g labelled route=route, the name
// of its family: one entry per series, so its length is how many series
// name the route. A failed Gather fails t.
func RouteFamilies(t testing.TB, g prometheus.Gatherer, route string) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && lp.GetValue() == route {
					out = append(out, mf.GetName())
				}
			}
		}
	}
	return out
}
