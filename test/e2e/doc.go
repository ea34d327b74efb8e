// Package e2e holds the end-to-end tests: a real control plane on loopback
// (package cluster), real gateway processes run by a process-kubelet
// (package kubelet), a real Prometheus scraping them, the metrics adapter
// registered as an APIService, and the stock HPA controller scaling the
// gateway. `make e2e` runs them.
package e2e
