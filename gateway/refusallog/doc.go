// Package refusallog logs the requests the gateway refuses before routing
// (malformed paths: encoded slashes, ";", control characters...), so that
// probing and attacks show in the log as well as in
// gatescale_http_refused_total — without letting a flood of bad requests
// flood the log. Each reason has its own token bucket: at most Burst lines
// at once and PerSecond lines per second; the requests beyond it are
// counted, and the count is logged as "suppressed" on the next line of the
// reason, or on a summary line once the bucket has a token again (and on
// Close), so every refused request is accounted for in the log.
//
// A line has the reason, the method, the path (escaped, cut to MaxPath
// bytes, every byte outside printable ASCII written as %XX, never the
// query string, which may carry an API key), the client address (decided
// with the trusted proxies) and the request id. The access log leaves
// these requests out: this log is their rate-limited record.
package refusallog
