// Package mirror sends a copy of a route's requests to a second upstream
// (traffic mirroring, or shadow traffic: Envoy's request_mirror_policies,
// APISIX's proxy-mirror, Traefik's mirroring service, nginx's mirror): a
// new version sees production requests while the client is served by the
// route's own upstream alone. The copy's answer is read and discarded.
//
// The client is never slowed or failed by the mirror. The copy is sent on
// its own goroutine, concurrently with the primary request, under a context
// of its own (the Mirror's lifetime and Policy.Timeout), not the client's:
// the client's answer does not wait for it, and a client that goes away
// does not cut it. What is bounded:
//
//   - Policy.Percent of requests are mirrored, chosen by a uniform random
//     draw per request (not by request id, which a client may choose).
//   - At most Policy.MaxInFlight copies of one route are in flight, across
//     reloads (WithPrevious); a
//     request sampled beyond that is not mirrored and counted "dropped",
//     so a slow mirror costs neither goroutines nor memory without bound.
//   - A request body is read into memory, up to Policy.MaxBodyBytes, before
//     the primary request starts, so that both get it. A larger body (or
//     one the client did not send whole) skips the mirror, counted
//     "skipped_body"; the primary gets the part read followed by the rest,
//     streamed, exactly as without a mirror. Requests without a body are
//     not delayed at all.
//   - A gRPC call (Content-Type application/grpc...) is not mirrored,
//     counted "skipped_stream": its body ends with the call, and a
//     bidirectional client sends its next message after an answer, so the
//     read-ahead would stall it.
//
// The copy has the original's method, path (after the route's strip_prefix
// or rewrite), query, headers and body, with forwarding and hop-by-hop
// headers set by the mirror's upstream proxy as for any proxied request
// (X-Forwarded-For, -Host and -Proto of the client); the Host header is the
// original's when that upstream preserves it. Policy.Header, when set, is
// added to the copy with the route's name, so the mirror can tell copies
// apart. The client's credentials (Authorization, Cookie) go with the copy,
// as with Envoy's and nginx's mirrors: a mirror is trusted as the route's
// upstream is. The copy's upstream spans join the client's trace. Upgrades
// (WebSocket) and CONNECT are tunnels, never copied.
//
// Outcomes are counted in gatescale_mirror_requests_total{route, upstream,
// outcome} (see Metrics): sent (the mirror answered below 500), error (it
// answered 5xx, or not at all: unreachable, no healthy instance), timeout
// (cut by Policy.Timeout), cancelled (cut because the Mirror's context
// ended: the gateway closed), dropped, skipped_body and skipped_stream.
package mirror
