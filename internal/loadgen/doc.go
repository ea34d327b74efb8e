// Package loadgen sends open-loop HTTP load that follows a rate profile:
// stages that ramp or hold a request rate. Open loop means requests start on
// schedule whether or not earlier ones finished, as real clients do, so a
// slow gateway shows up as latency and errors rather than as a silently
// lower rate. It is used by `make demo` and by the end-to-end autoscaling
// test (ramp 0 → 110 QPS, hold, stop).
package loadgen
