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
// Proxy.ServeHTTP is net/http/httputil.ReverseProxy (streaming, hop-by-hop
// and forwarding headers, protocol upgrades such as WebSocket, trailers)
// around one Do. Errors the gateway produces itself are RFC 9457 problem
// bodies: 503 when the upstream has no admitted instance, 502 when the
// instance could not be reached or broke the connection, 504 when the
// route's deadline or the per-attempt timeout passed, 413 when the body was
// larger than LimitBody allows.
//
// NewTransport returns the tuned http.Transport the gateway shares between
// upstreams; Go's defaults (two idle connections per host) collapse
// throughput under load.
package proxy
