// Package admin is the gateway's admin subsystem: a Store holding the
// declared state (a spec.Config, the model the YAML file maps onto) with a
// monotonic revision and an audit log, a reload.Source over it so that
// every replica's reload.Loop applies it exactly as it applies a file, and
// an http.Handler serving the admin REST API under /admin/.
//
// Two stores: File for one node, Consul (KV) for replicas that share the
// state. Every write names the revision it was based on and fails with
// ErrConflict if the store moved on: writers never clobber each other.
// Every write is validated by the API with live.Validate, the one
// validation the file goes through too.
package admin
