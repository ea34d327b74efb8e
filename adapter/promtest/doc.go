// Package promtest runs a real Prometheus for tests (it is a test helper,
// imported only by tests here and by the end-to-end tests): Debian's prometheus
// binary on a free loopback port, with a generated configuration, its TSDB
// in the test's temporary directory, and targets given through file-based
// service discovery so a test can add pods (and their namespace and pod
// labels) while it runs. Every server it starts is stopped by the test's
// cleanup.
//
// Without a prometheus binary on PATH the test is skipped, unless
// GATESCALE_REQUIRE_REAL is set (as CI does), in which case it fails: a
// missing dependency must not turn the real-Prometheus tests into silent
// passes. hack/install-debs.sh prometheus installs it.
package promtest
