// Package request is the gateway's record of one request, shared by every
// part of the data path: the route label (Info.Route, Unmatched), the
// upstream fields the proxy fills in — safe for the concurrent calls of a
// composite route — and the client decided once per request with the
// trusted proxies in force (ClientOf).
//
// It is a leaf package, so the route table, the proxy, authentication,
// limits, the cache and result processing can all use it without importing
// each other.
package request

// Route names of requests no route serves: Unmatched when no route
// matches, Refused when the request was refused before matching (a
// malformed path). Both are bounded labels, counted like any route.
const (
	Unmatched = "unmatched"
	Refused   = "(refused)"
)
