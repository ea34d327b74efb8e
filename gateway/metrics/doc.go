// Package metrics exports the gateway's Prometheus metrics. The
// HorizontalPodAutoscaler scales the gateway on the request rate computed
// from them, so a request is counted exactly once, with its final status.
//
// Requests, from Middleware:
//
//   - gatescale_http_requests_total{route,method,code} (counter): incremented
//     when the handler returns. code is the status sent; 200 if the handler
//     wrote nothing (what net/http sends); 499 if the client went away before
//     a response; 101 for a hijacked (upgraded) connection; 500 if the
//     handler panicked before writing.
//   - gatescale_http_request_duration_seconds{route,method} (histogram):
//     time in the handler, with classic buckets (DefaultBuckets) and a native
//     histogram (factor 1.1, at most 160 buckets, reset at most hourly) in
//     the same series, so both old and new Prometheus servers get quantiles.
//     An upgraded connection (101) is not observed: its length is a
//     session's, and an hour-long WebSocket would move the p99 that users
//     alert and autoscale on.
//   - gatescale_http_upgraded_connection_duration_seconds{route} (histogram):
//     the length of upgraded connections (101), classic buckets from 1s to
//     8h.
//   - gatescale_http_requests_in_flight{route} (gauge): requests inside the
//     handler now.
//   - gatescale_http_response_size_bytes{route} (histogram): body bytes
//     written, classic buckets only; not for upgraded connections, which
//     have no body.
//
// Upstreams, from the proxy and health checking:
//
//   - gatescale_upstream_requests_total{upstream,code} (counter): one per
//     attempt (so retries count); code "error" when no response came back.
//   - gatescale_upstream_request_duration_seconds{upstream} (histogram,
//     classic + native): time of one attempt; an upgraded attempt (101),
//     which lasts its whole session, is counted but not timed.
//   - gatescale_upstream_instances{upstream,state} (gauge): instances that
//     are healthy, ejected (passive health) or unhealthy (active checks).
//   - gatescale_upstream_panic{upstream} (gauge): 1 while too few
//     instances are healthy and the upstream balances over all of them
//     (upstream.WithPanicThreshold), else 0.
//   - gatescale_upstream_retries_total{upstream,reason} (counter).
//
// Every label is bounded, because each distinct label set is a series kept
// in memory by the gateway and by every Prometheus that scrapes it: route is
// the route's name (or chi pattern), never the raw path; method is one of the
// nine standard methods or OTHER; code is 100–599 or "other"; upstream names
// and retry reasons come from configuration and code. A client sending
// random methods, paths or status-provoking requests cannot create series.
//
// The request path does no label lookups: series are resolved once per
// (route, method, code) and kept in per-route arrays, so Middleware costs a
// map lookup and a few atomic operations per request.
//
// ForgetRoute deletes a route a reload removed. A request still running on
// the old table is counted, and the last one out deletes the series; a
// request of the old table that reaches Middleware only after that records
// nothing, so a removed route's series never come back frozen.
//
// See docs/metrics.md for PromQL recipes.
package metrics
