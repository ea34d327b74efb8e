package forecasttest

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gatescale/gatescale/adapter/promtest"
)

// Namespace and Pod label the ramp's series, as Kubernetes service
// discovery labels a pod's.
const (
	Namespace = "shop"
	Pod       = "web-1"
)

// StartRamp starts Prometheus (o) scraping pod shop/web-1, which exposes
// app_ramp, rising 2/s from 0, and app_fall, falling 1/s from 1000, and
// waits until Prometheus holds 12 samples of them: more than a forecast
// fitted over 10s at a 1s step needs. The server stops when the test
// ends.
func StartRamp(t testing.TB, o promtest.Options) *promtest.Server {
	t.Helper()
	p := promtest.Start(t, o)
	start := time.Now()
	addr := promtest.ServeMetrics(t, func(w io.Writer) {
		s := time.Since(start).Seconds()
		fmt.Fprintf(w, "app_ramp %g\napp_fall %g\n", 2*s, 1000-s)
	})
	p.SetTargets(t, promtest.Target{Addr: addr, Labels: map[string]string{"namespace": Namespace, "pod": Pod}})
	p.WaitFor(t, `count_over_time(app_ramp[15s]) >= 12`, 1, 45*time.Second)
	return p
}

// SmoothingConfig is an adapter configuration serving app_ramp (custom,
// of pods, and external, of the namespace) with a smoothing forecast 30s
// ahead, app_ramp_forecast_30s, fitted over 10s at a 1s step, the method
// spelled as given (holt_winters or double_exponential_smoothing).
func SmoothingConfig(method string) string {
	return `
rules:
- seriesQuery: '{__name__="app_ramp",namespace!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="app_ramp",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
forecasts:
- matches: app_ramp
  horizons: [30s]
  window: 10s
  step: 1s
  method: ` + method + "\n"
}
