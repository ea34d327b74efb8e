package config_test

import (
	"fmt"

	"github.com/gatescale/gatescale/adapter/config"
)

// A prometheus-adapter rule, as its configuration walkthrough writes it,
// parses unchanged.
func ExampleParse() {
	cfg, err := config.Parse("adapter.yaml", []byte(`
rules:
- seriesQuery: 'http_requests_total{kubernetes_namespace!="",kubernetes_pod_name!=""}'
  resources:
    overrides:
      kubernetes_namespace: {resource: "namespace"}
      kubernetes_pod_name: {resource: "pod"}
  name:
    matches: "^(.*)_total"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Rules[0].Name.As)
	// Output: ${1}_per_second
}

// Errors name the file, line, column and field.
func ExampleParse_error() {
	_, err := config.Parse("adapter.yaml", []byte(`
rules:
- seriesQuery: '{__name__="x"}'
  name: {matches: "^(.*)_(.*)$"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`))
	fmt.Println(err)
	// Output: adapter.yaml:4:9: rules[0].name: name.matches "^(.*)_(.*)$" has 2 capture groups: say which to use with as (e.g. "${1}_per_second")
}

// Load reads a file; a missing file is reported with its path.
func ExampleLoad() {
	_, err := config.Load("testdata/no-such-file.yaml")
	fmt.Println(err)
	// Output: testdata/no-such-file.yaml: no such file or directory
}

// The preset serves the gateway's metrics without any configuration.
func ExampleGatewayPreset() {
	cfg := config.GatewayPreset(0)
	fmt.Println(cfg.Rules[0].Name.As, cfg.Rules[0].MetricsQuery)
	fmt.Println(cfg.ExternalRules[0].Name.As)
	// Output:
	// gatescale_requests_per_second sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
	// gatescale_requests_per_second
}

// The YAML of the preset, for a user to copy into a file and edit.
func ExampleGatewayPresetYAML() {
	y := config.GatewayPresetYAML(0)
	_, err := config.Parse("preset.yaml", y)
	fmt.Println(err == nil)
	// Output: true
}

// A forecast's method may be spelled as Prometheus 3 names the smoothing
// function; it is the same method as holt_winters.
func ExampleForecast_Smooths() {
	cfg, err := config.Parse("adapter.yaml", []byte(`
forecasts:
- matches: gatescale_requests_per_second
  horizons: [60s]
  method: double_exponential_smoothing
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	f := cfg.Forecasts[0]
	fmt.Println(f.MethodOrDefault(), f.Smooths())
	// Output: double_exponential_smoothing true
}
