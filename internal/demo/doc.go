// Package demo runs the gateway on embedded defaults with nothing external:
// three in-process backend services, the gateway in front of them, a small
// load generator and the live terminal view. `make demo` runs it through
// `gatescale demo`.
package demo
