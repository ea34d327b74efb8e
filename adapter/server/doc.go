// Package server is the aggregated API server: custom-metrics-apiserver's
// custom.metrics.k8s.io (v1beta1 and v1beta2) and external.metrics.k8s.io,
// plus metrics.k8s.io (v1beta1 and v1), each switchable, with the standard
// secure serving, delegated authentication and authorization, audit and
// feature flags.
//
// It builds the server the way custom-metrics-apiserver's AdapterBase
// does, except that nothing requires a kube-apiserver: delegated
// authentication and authorization are looked up only when their
// kubeconfigs are given or the server runs in a cluster. With
// Options.AllowAnonymous (tests, local runs) it serves without any
// cluster, which is how the adapter's HTTPS tests run.
//
// It also keeps the aggregated discovery document (/apis as Kubernetes
// 1.30+ clients request it) in step with the metrics being served;
// custom-metrics-apiserver registers its groups only in the legacy one.
package server
