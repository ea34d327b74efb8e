// Package requestid gives every request an id that follows it through the
// gateway, to the upstream and back to the client.
//
// Middleware keeps the X-Request-Id a client or an outer proxy sent when it
// is safe to log and forward (at most 128 printable ASCII characters, no
// spaces, quotes or backslashes), and otherwise makes a new one: 16 random
// bytes in hex. Random rather than a counter so ids from different gateway
// pods never collide and cannot be guessed; crypto/rand costs about 80ns,
// the same as a shared atomic counter once two cores contend for it.
//
// The id is set on the request header (so the upstream logs it too), on the
// response header, and in the context (From). Other spellings of the header
// (X_Request_Id, which CGI-style upstreams read as the same) are deleted.
//
// W3C trace context (traceparent, tracestate) is not touched: those headers
// are end to end and the proxy forwards them as they came.
package requestid
