// Package proctest runs a gatescale process in a test: it starts the
// command, finds the gateway's and the admin listener's addresses in its
// log (JSON or text), keeps the log for failure messages, and stops the
// process with SIGTERM — drain and shutdown, as Kubernetes does — when the
// test ends.
package proctest
