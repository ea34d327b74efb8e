// Package live turns a validated spec.Config into the gateway.Config that
// (*gateway.Gateway).Apply runs: resolvers for Consul and Kubernetes
// upstreams, balancers, and each route's authentication, authorization and
// flow-limit middleware, built from keys, secrets, JWKS, consumers files and
// Redis that it reads or connects to.
//
// One Runtime per process builds every revision, from the file or the admin
// API alike. What an unchanged part of the configuration owns is kept across
// builds — JWKS caches, Redis and Consul clients, consumers file watches,
// rate-limit buckets and concurrency counters (by policy name) — and what a
// removed part owned is closed once the build that dropped it is committed:
//
//	built, err := rt.Build(cfg)
//	if err != nil { ... } // nothing changed
//	if err := gw.Apply(ctx, built.Gateway); err != nil {
//		built.Discard() // closes only what this build started
//	} else {
//		built.Commit() // closes what the previous revision used and this one does not
//	}
package live
