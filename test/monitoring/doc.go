// Package monitoring tests what operators get to watch the gateway with:
// the Grafana dashboards in manifests/grafana (every panel's PromQL against
// a real Prometheus scraping a real gateway under load) and the alert rules
// in manifests/prometheus (promtool check/test rules, and an alert fired by
// a real outage). See docs/operations.md.
package monitoring
