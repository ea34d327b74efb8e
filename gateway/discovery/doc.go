// Package discovery defines how the gateway learns the live instances of an
// upstream service.
//
// A Resolver pushes the full instance set of a named service to a callback,
// once as soon as it is known and again after every change. The shape fits
// sources that watch rather than poll: Consul blocking queries (index + wait),
// Kubernetes EndpointSlice informers, or a static list that changes only when
// the configuration is reloaded. The gateway never asks a resolver anything on
// the request path; it reads the last set it was given.
//
// When a source becomes unreachable a resolver reports an Update with Err set
// and the last known instances, so the gateway keeps serving on them rather
// than dropping to zero instances. An empty set with no error is an honest
// answer ("no healthy instances") and is honoured.
//
// This package ships Static. Consul and Kubernetes resolvers live in
// subpackages.
package discovery
