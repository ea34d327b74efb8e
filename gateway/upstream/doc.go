// Package upstream keeps the live, balanced set of instances of one upstream
// service.
//
// An Upstream follows its Resolver, keeps one balance.Endpoint per instance
// (so load and health state survive re-resolves), and publishes an immutable
// snapshot — the admitted endpoints and the Picker built for them — behind an
// atomic pointer. Picking an instance is a pointer load plus the Picker's
// lock-free choice. The snapshot is rebuilt only when something changes:
// a discovery update, a passive ejection or its timed re-admission, or an
// active health check flipping an instance.
//
// The admitted endpoints are those that health checking lets through. With
// WithPanicThreshold, an upstream left with too few of them balances over
// all its instances instead (panic), so that checks that fail for reasons
// of their own do not fail every request.
package upstream
