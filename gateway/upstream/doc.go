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
package upstream
