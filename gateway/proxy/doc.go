// Package proxy forwards a request to an upstream instance and streams the
// answer back.
//
// Proxy.Do (and RoundTrip, its http.RoundTripper form) is one call to the
// upstream: each attempt takes the balancer's choice of instance, reports
// its outcome for passive health, and is bounded by the try timeout; a
// failed attempt is retried on another instance only when that is safe: a
// connection that could not be established (nothing was sent), or an
// idempotent request without a body that failed or got a retryable status.
// Retries draw on a Budget so that a failing upstream does not get a retry
// storm on top of its load. The caller gets the response to read and close,
// and a Result saying which instance answered after how many attempts; it
// needs no request.Info, so a composite route can make several calls at once.
//
// Proxy.ServeHTTP forwards a request and streams the answer around one Do,
// with httputil.ReverseProxy's header rules (hop-by-hop headers, those named
// in Connection, X-Forwarded-* and Forwarded, TE: trailers, trailers,
// flushing of streams) but without its copies of the request; a protocol
// upgrade such as WebSocket goes through an httputil.ReverseProxy. Errors
// the gateway produces itself are RFC 9457 problem bodies: 503 when the
// upstream has no admitted instance, 502 when the instance could not be
// reached or broke the connection, 504 when the route's deadline or the
// per-attempt timeout passed, 413 when the body was larger than LimitBody
// allows, 400 when the client's body broke off before its length (the
// client's failure: it neither counts against the instance's health nor
// reads as the gateway's 5xx).
//
// HTTP1Transport, the default, exchanges a request and its answer on the
// calling goroutine over pooled keep-alive connections and leaves what it
// does not handle (https, upgrades, large or unsized bodies) to an
// http.Transport; forwarding through it serves about 1.3 times the
// requests per second of httputil.ReverseProxy over http.Transport on one
// core (docs/performance.md). Interim answers (103 Early Hints) reach the
// client as through httputil.ReverseProxy, without their hop-by-hop fields
// and without leaving their fields in the final answer; 100 Continue is the
// client's server's to send. HTTP1Transport gives them to the request's
// httptrace.ClientTrace, as http.Transport does.
//
// NewTransport returns the tuned http.Transport that HTTP1Transport falls
// back on; Go's defaults (two idle connections per host) collapse throughput
// under load.
package proxy
