// Package accesslog writes one line per request.
//
// Log is the configurable access log: Options choose the format (json,
// text, common, combined), the fields of a json or text line, a sample
// ratio (failures always kept: a 5xx, or a gRPC status that is the
// server's fault, logged at WARN), paths to exclude (exact, or a prefix ending in
// *) and the output (stderr, stdout, a file reopened by Reopen for log
// rotation, or any io.Writer). Apply, or Prepare then Commit, changes the
// options at run time atomically: a request is logged wholly under the
// options in force when it started, and each Write carries whole lines,
// so lines never tear or interleave and none is lost when the output
// changes. Options.Buffer batches lines into fewer writes (flushed when
// full, after Options.FlushInterval, and before the output changes, is
// reopened or closed). A disabled log or an excluded path adds no
// allocation to a request.
//
// Middleware is the plain form the gateway uses by default: every request
// to a slog.Logger, at Info level, or Warn when the status is 5xx, with
// the attributes of DefaultFields:
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
// A Log's json line has the same keys (duration in nanoseconds), and
// grpc_status for a gRPC call; Options can add client, host, proto,
// user_agent and referer.
//
// Both share the response recorder with the metrics middleware, so a
// request's status in the log and in gatescale_http_requests_total agree.
package accesslog
