// Package consul finds upstream instances in Consul and registers services
// in it.
//
// Resolver follows /v1/health/service/<name> with blocking queries (index +
// wait): Consul answers as soon as the set changes, so a deregistration or a
// failing check reaches the balancer within one round trip, with no polling.
// Passing instances only by default; tags, datacenter, namespace, partition
// and Consul's filter expression narrow the set. Instance weights come from
// the service's Weights (Passing, or Warning for instances in warning when
// warning instances are admitted) and service metadata and tags travel with
// each instance.
//
// When Consul cannot be reached the resolver reports the error together
// with the last known instances — the gateway keeps serving on them — and
// retries with jittered exponential backoff. An empty healthy set from a
// reachable Consul is honoured, except right after Consul restarted (its
// index went backwards) when the catalog may simply not be rebuilt yet: for
// RestartGrace the last set is kept.
//
// Registrar is the other side: a service registers itself when it starts
// (with an HTTP check, or a TTL check it keeps passing), re-registers if the
// agent forgets it (agent restart), and deregisters on shutdown.
package consul
