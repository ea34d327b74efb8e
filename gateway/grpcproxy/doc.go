// Package grpcproxy carries gRPC through the gateway's reverse proxy.
//
// The proxy (package proxy, httputil.ReverseProxy underneath) already
// streams bodies both ways and copies trailers; what gRPC needs on top is
// here:
//
//   - Transport speaks HTTP/2 to upstreams: cleartext (h2c, prior
//     knowledge) or TLS with ALPN h2. For gRPC calls it sends the time left
//     before the request's deadline as grpc-timeout, forwards the client's
//     request trailers, and ends a response whose upstream stream broke
//     after it started with a grpc-status trailer (UNAVAILABLE, or
//     DEADLINE_EXCEEDED when the deadline cut it) instead of a reset
//     stream, so clients get a status rather than an INTERNAL error or a
//     hang.
//   - Middleware honours the caller's grpc-timeout as a deadline (the
//     route's timeout still applies: the earlier wins), and turns the
//     gateway's own answers (problem+json: no route, authentication
//     refused, rate limited, no healthy instance, timeout...) into gRPC
//     statuses: HTTP 200 and a trailers-only response with grpc-status
//     and grpc-message (see grpcstatus.FromHTTP for the mapping).
//
// Both act only on gRPC calls (Content-Type application/grpc or
// application/grpc+<codec>); other requests pass through untouched, so a
// route can serve gRPC and HTTP alike.
package grpcproxy
