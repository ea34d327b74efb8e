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

// Unmatched is the route name recorded for requests no route matches.
const Unmatched = "unmatched"
