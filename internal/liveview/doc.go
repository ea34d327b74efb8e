// Package liveview prints a live table of the gateway's traffic from its
// own Prometheus registry; `make demo` runs it in the terminal.
//
// Every tick it gathers the registry and compares it with the previous
// gather: per route, the request rate, p50 and p99 latency and the share of
// 5xx responses over that tick alone (not since start, so a change shows at
// once), the requests in flight, and each upstream's instance states.
//
// The numbers are computed the way Prometheus computes rate() and
// histogram_quantile() over the classic buckets, so the view and a
// dashboard agree: Compute and Render are pure functions for that reason,
// and Run only adds the ticker and the terminal.
package liveview
