package forecasttest_test

import (
	"testing"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/promtest"
)

// testSmoothingOnPrometheus3 is how a test uses the package: Prometheus 3
// (the test skips without it) scraping the ramp, and the configuration
// whose forecast of it the code under test serves.
func testSmoothingOnPrometheus3(t *testing.T) {
	p := forecasttest.StartRamp(t, promtest.Options{
		Binary: promtest.Prometheus3Binary(t),
		Args:   []string{"--enable-feature=promql-experimental-functions"},
	})
	cfg, err := config.Parse("forecast.yaml", []byte(forecasttest.SmoothingConfig(config.HoltWinters)))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.URL, cfg // ... serve cfg from p.URL and ask for app_ramp_forecast_30s ...
}

func Example() {
	_ = testSmoothingOnPrometheus3
}
