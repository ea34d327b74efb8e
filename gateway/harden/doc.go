// Package harden bounds what a client may send before any route sees the
// request. The http.Server settings do most of it — MaxHeaderBytes (the
// request line and all headers), ReadHeaderTimeout (slow-header clients,
// "slowloris"), IdleTimeout (idle keep-alive connections) — and
// gateway.Server sets them; the request body is limited per route while it
// streams (proxy.LimitBody). What http.Server cannot bound is the number
// of header fields: many tiny headers fit in MaxHeaderBytes yet cost a map
// entry each in every handler and the upstream. MaxHeaderCount bounds that.
//
// The route table refuses paths that are not in normal form or could mean
// another path to an upstream (route.NormalizePath), so that route
// policies act on the path the upstream sees.
package harden
