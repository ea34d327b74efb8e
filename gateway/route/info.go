package route

import "context"

// Info records how the gateway handled one request. The route table puts a
// fresh Info in the request context before the route's middleware runs; the
// proxy fills in the upstream fields as it goes, and outer middleware
// (metrics, access log) read it after the inner handler returns.
type Info struct {
	// Route is the name of the matched route (bounded: never the raw path).
	Route string
	// Upstream is the name of the upstream service the route points at.
	Upstream string
	// Instance is the address of the instance that served the final attempt.
	Instance string
	// Attempts is how many upstream attempts were made (retries + 1).
	Attempts int
	// Error is a short reason when the gateway itself answered with an error
	// (e.g. "no healthy instances", "upstream timeout").
	Error string
}

type infoKey struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the Info in ctx, or nil if the request was not routed by
// a Table.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}
