// Package compose serves composite routes: one client request becomes
// several backend calls made inside the data centre and merged into one JSON
// answer, so clients make fewer remote calls.
//
// A Composite declares named calls. Each call names an upstream, a method and
// a path template; templates take {param} from the route's path parameters,
// {query.NAME} and {header.NAME} from the client's request, and
// {CALL.field.path} from an earlier call's JSON answer — which makes CALL a
// dependency. Calls without dependencies run at once; the rest run as soon as
// the calls they depend on have answered (a DAG with maximal concurrency). A
// call with for_each runs once per element of an earlier answer's array
// ({item.field} names the element), with bounded count and concurrency.
//
// Answers are placed under their group key, or merged at the top level; pick
// selects a sub-document first. A required call that fails (an error status,
// a non-JSON or oversized answer, a timeout) fails the whole request with a
// problem+json 502 or 504 naming the call and cancels the calls still
// running; an optional one is left out, and the answer says which parts are
// missing in a _partial member and the X-Gatescale-Partial header.
//
// Plan is an http.Handler for a route: the gateway hands it a RoundTripper
// per upstream (the proxy's, so calls are balanced, retried and ejected as
// proxied requests are), and the route's chain (authentication,
// authorization, limits, metrics) runs around it like any route's.
package compose
