// Package accesslog writes one structured log line per request.
//
// The line is written after the handler returns, at Info level, or Warn when
// the status is 5xx (for a gRPC call: its grpc-status is UNKNOWN,
// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE or DATA_LOSS),
// with these attributes:
//
//	method      request method
//	path        r.URL.Path; never the query, which may carry tokens
//	route       route name (see outcome.Route)
//	upstream    upstream name, from request.Info
//	instance    address of the instance that served the last attempt
//	attempts    upstream attempts made (retries + 1)
//	status      status sent (outcome.Status: 499 when the client went away)
//	bytes       response body bytes
//	duration    time in the handler
//	request_id  from requestid.From, or the response header when the
//	            requestid middleware runs inside this one
//	remote      r.RemoteAddr (the peer, which may be a load balancer)
//	error       the reason in request.Info (InfoState.Error), only when set
//	grpc_status the gRPC status code of a gRPC call (grpcstatus.FromHeader:
//	            trailers-only header or trailer), only for those
//
// It shares the response recorder with the metrics middleware, so a
// request's status in the log and in gatescale_http_requests_total agree.
package accesslog
