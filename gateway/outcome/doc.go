// Package outcome records what happened to a request, for the middleware
// that reports on it (metrics, access log).
//
// Recorder wraps the http.ResponseWriter once per request and remembers the
// status and the number of body bytes written. Wrap reuses a Recorder that is
// already there, so metrics and access log stacked on the same route share
// one wrapper and always agree. The wrapper keeps what the proxy needs from
// the writer underneath: Flush (streaming, server-sent events), Hijack
// (WebSocket upgrades), ReadFrom (sendfile) and Unwrap, which lets
// http.ResponseController reach deadlines and full duplex.
//
// Status and Route turn a finished request into the labels both reporters
// use, so a request has the same status and route in the metrics and in the
// log line.
package outcome
