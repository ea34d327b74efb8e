package config

import (
	"fmt"
	"time"
)

// Metric names served by the gateway preset.
const (
	// GatewayRequestsPerSecond is the request rate: per pod (and per
	// namespace, service and deployment when the series carry those
	// labels) in custom.metrics.k8s.io, and across all replicas in
	// external.metrics.k8s.io.
	GatewayRequestsPerSecond = "gatescale_requests_per_second"
	// GatewayRequestDurationP99 is the 99th percentile of request latency
	// in seconds, per pod.
	GatewayRequestDurationP99 = "gatescale_request_duration_p99_seconds"
)

// DefaultRateWindow is the preset's rate() window. One minute holds four
// samples at Prometheus's common 15s scrape interval, which rate() needs to
// be stable, and is short enough for the HPA to see a ramp within a minute.
const DefaultRateWindow = time.Minute

// GatewayPresetYAML returns the configuration used when no file is given:
// rules for the gateway's own metrics (docs/metrics.md), written in
// prometheus-adapter's format so it can be copied into a file and edited.
// rateWindow is the range of rate() (DefaultRateWindow when zero).
//
// The per-pod rules need the namespace and pod labels that Prometheus's
// Kubernetes service discovery adds; service and deployment labels, when
// present, make the same metric available for those objects (see
// docs/adapter.md for the relabeling).
func GatewayPresetYAML(rateWindow time.Duration) []byte {
	if rateWindow <= 0 {
		rateWindow = DefaultRateWindow
	}
	w := Duration(rateWindow).String()
	return fmt.Appendf(nil, `# gatescale-adapter's gateway preset (rate window %[1]s).
rules:
# Requests per second of each pod, namespace, service and deployment.
- seriesQuery: '{__name__="gatescale_http_requests_total",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
      service: {resource: service}
      deployment: {group: apps, resource: deployment}
  name:
    matches: ^gatescale_http_requests_total$
    as: %[2]s
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[%[1]s])) by (<<.GroupBy>>)
# p99 latency per pod from the native histogram, when Prometheus keeps it...
- seriesQuery: '{__name__="gatescale_http_request_duration_seconds",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^gatescale_http_request_duration_seconds$
    as: %[3]s
  metricsQuery: histogram_quantile(0.99, sum(rate(<<.Series>>{<<.LabelMatchers>>}[%[1]s])) by (<<.GroupBy>>))
# ...else from the classic buckets (the first rule to name a metric wins).
- seriesQuery: '{__name__="gatescale_http_request_duration_seconds_bucket",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^gatescale_http_request_duration_seconds_bucket$
    as: %[3]s
  metricsQuery: histogram_quantile(0.99, sum(rate(<<.Series>>{<<.LabelMatchers>>}[%[1]s])) by (le, <<.GroupBy>>))
externalRules:
# Requests per second of all replicas in the HPA's namespace; a
# metricSelector such as route=users narrows it.
- seriesQuery: '{__name__="gatescale_http_requests_total",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  name:
    matches: ^gatescale_http_requests_total$
    as: %[2]s
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[%[1]s]))
`, w, GatewayRequestsPerSecond, GatewayRequestDurationP99)
}

// GatewayPreset returns GatewayPresetYAML parsed.
func GatewayPreset(rateWindow time.Duration) *Config {
	cfg, err := Parse("<gateway preset>", GatewayPresetYAML(rateWindow))
	if err != nil {
		// The preset is a constant apart from the window, which is
		// formatted by Duration; a failure is a bug caught by the tests.
		panic("config: gateway preset does not parse: " + err.Error())
	}
	return cfg
}
