// Package bench measures gatescale side by side with other proxies on one
// machine, in one run: nginx, Caddy, Traefik, lura (the KrakenD CE engine),
// a bare httputil.ReverseProxy and gatescale itself (routing only, the full
// security chain, a composite route), each in front of the same backend and
// next to the backend reached directly.
//
// Every target runs as its own process (peers as their binaries, the Go
// targets as re-executions of the running binary in a role, see RunRole),
// pinned to other cores than the load generator where the machine has them.
// Closed-loop throughput comes from wrk, run against the targets in
// alternating rounds so that the drift of a shared machine falls on every
// target alike; fixed-rate latency comes from an open-loop generator whose
// latencies are measured from each request's scheduled start, which
// corrects for coordinated omission. Run writes the figures, the ratios
// (median over rounds of the paired per-round ratios), the cores used and
// the load average as a Markdown report.
//
// Each run also says what a request cost: the CPU time of the target's and
// the backend's processes over the run (from /proc), and, with
// Options.Syscalls, the target's system calls per request by kind, counted
// by perf stat in one more run — which is where a Go proxy and nginx part:
// Go's netpoller reads a socket before waiting on it, so three of a Go
// proxy's five reads per request find nothing.
//
// The numbers are never asserted: a benchmark reports, it does not fail on
// a number. bench/compare is the command behind `make bench-compare`.
package bench
