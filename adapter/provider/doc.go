// Package provider answers the metrics APIs from Prometheus according to a
// configuration: custom metrics of objects (by name and by label selector,
// metric selector honoured, namespaced and cluster-scoped objects),
// external metrics, resource metrics (CPU and memory of pods and nodes),
// and forecasts of any of them. It implements custom-metrics-apiserver's
// CustomMetricsProvider and ExternalMetricsProvider, and the server
// package's ResourceProvider.
//
// Its registry (which rule serves which metric for which resource) is
// rebuilt from each discovery snapshot and from each configuration
// reload, and replaced atomically; requests and API discovery read it from
// memory. A request for a metric it does not know runs discovery once
// before answering, so new metrics are usable at once.
//
// Errors say what happened instead of "the server could not find the
// metric":
//
//   - an unknown metric is a 404 naming the metric, where else it is
//     served, or what each rule discovered;
//   - an object without series is a 404 for that object, with the PromQL,
//     never a silent zero; so is a NaN value;
//   - Prometheus unreachable is a 503 with the cause; a query Prometheus
//     refuses is a 500 with the query.
//
// Values are resource.Quantity in milli-units (45.5 → 45500m), stamped
// with the query's evaluation time (not the scrape time, as in
// prometheus-adapter) and the query's window.
package provider
