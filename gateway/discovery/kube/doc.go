// Package kube finds upstream instances from Kubernetes EndpointSlices — what
// a gateway running inside a cluster usually wants.
//
// Resolver follows the discovery.k8s.io/v1 EndpointSlices of a Service with a
// client-go informer (a watch, not polling) and merges all slices of the
// Service into one instance set, with one instance per pod: a dual-stack
// Service lists each pod in an IPv4 and an IPv6 slice, and the IPv4
// address is used. An endpoint receives new requests only while
// it is ready and not terminating: a pod that is shutting down keeps serving
// the requests it has, but gets no new ones — the gateway-side half of a
// scale-in that drops nothing. Only when no endpoint of the Service is ready
// do the terminating ones that still serve take new requests, as with
// kube-proxy: a Service whose every pod is shutting down answers until a
// replacement is ready rather than failing.
package kube
