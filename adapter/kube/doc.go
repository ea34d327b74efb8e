// Package kube is what the adapter needs from Kubernetes itself: a REST
// mapper (to normalize "pod" to pods and find an object's kind) and an
// object lister (to turn the HPA's label selector into object names, and,
// for metrics.k8s.io, to tell which pods are Running).
//
// With a cluster these come from its API (Informed, which keeps watch-fed
// caches and is what the server uses; Dynamic, a LIST per request, for
// one-shot queries; and the discovery mapper of custom-metrics-apiserver);
// without one — the `query`
// subcommand, tests — StaticMapper knows the built-in resources and Static
// holds declared objects. Nothing else in the adapter talks to the API
// server, which is why the adapter's own tests run without one.
package kube
