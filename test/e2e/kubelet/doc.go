// Package kubelet plays the kubelet for the end-to-end tests, with
// processes instead of containers: for every Pod of a selector it starts a
// real process (a gatescale gateway) on its own loopback ports, marks the pod
// Running and Ready through the pods/status subresource once the process is
// ready, and when the pod is deleted sends SIGTERM (so the gateway's drain
// runs), waits for the process to exit and then removes the pod. No mocks in
// the data path: the HPA scales real gateway processes.
package kubelet
