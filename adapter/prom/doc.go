// Package prom is the adapter's side of Prometheus: a Client for instant
// queries (client_golang's v1 API) and series listings, and a Discoverer
// that keeps the series shapes the rules need in memory.
//
// Discovery is where prometheus-adapter spends its memory and where its
// metrics flap, so it is built differently here:
//
//   - Client.Series streams /api/v1/series and drops label values as it
//     reads, and the Discoverer keeps one shape (metric name and label
//     names) per distinct combination, not one entry per series: 10,000
//     series of 20 metrics are 20 shapes. A discovery run over 10,000
//     series in a real Prometheus takes about 0.1 s (BenchmarkDiscovery10k).
//   - A run looks back a fixed window (default 10m) independent of the
//     relist interval, so a metric scraped less often than discovery runs
//     does not disappear between scrapes.
//   - A selector whose listing fails keeps its previous shapes.
//   - Refresh runs discovery on demand (at most once per MinGap, shared by
//     concurrent callers), so a request for a metric that appeared since
//     the last run is answered at once.
//
// Errors are *Error and say whether Prometheus was unreachable
// (IsUnavailable: the HPA gets 503) or refused the query (IsBadQuery).
package prom
