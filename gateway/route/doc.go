// Package route matches requests to routes and holds the route table.
//
// A Route names what it matches (hosts, methods, a chi path pattern or a path
// prefix), how the path is changed before it goes upstream (strip a prefix or
// rewrite from a template), the route's deadline, its middleware, and the
// handler that serves it (usually a proxy to an upstream).
//
// A Table is immutable: it is built once from a list of routes, validated as
// a whole, and then only read. Replacing the routing of a running gateway is
// building a new Table and swapping a pointer; a request that already started
// keeps the table (and route) it matched, so a reload drops nothing.
//
// Matching is done by go-chi/chi's radix tree, one tree per host; routes
// without hosts are merged into every host's tree so one lookup suffices.
// A route's handler finds its URL parameters with chi.URLParam and its
// pattern in Request.Pattern; named parameters are also net/http path values
// (Request.PathValue, unescaped as net/http's ServeMux gives them, where
// chi.URLParam is escaped when the path kept its raw form), the catch-all "*"
// of a prefix route is not, because setting it would cost a map on every
// request.
package route
