// Package redistest runs a real redis-server on a free loopback port for
// tests, as net/http/httptest runs an HTTP server.
//
// The server keeps nothing on disk (--save "" --appendonly no) and works
// in its own temporary directory. When redis-server is not installed, Start
// skips the test, unless the environment variable GATESCALE_REQUIRE_REAL is
// set (as CI sets it), in which case the test fails: a missing Redis must
// not pass as a green build. hack/install-debs.sh redis-server installs it.
package redistest
