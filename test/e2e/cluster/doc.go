// Package cluster runs a real Kubernetes control plane on loopback for the
// end-to-end tests: etcd (Debian's etcd-server), kube-apiserver and
// kube-controller-manager v1.37.2 (built by hack/build-kube.sh), with the
// certificates, tokens and kubeconfigs generated here by crypto/x509. There
// is no kubelet, scheduler or container runtime: the e2e harness plays the
// kubelet itself (see package kubelet).
//
// Every process runs in its own process group on free ports and is stopped
// in reverse order — controller-manager, apiserver, then etcd, since the
// apiserver hangs on shutdown without etcd.
package cluster
