package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"k8s.io/klog/v2"
)

// servePprof serves Go's profiler on GATESCALE_ADAPTER_PPROF (a loopback
// address such as 127.0.0.1:6060) when that is set: how `make
// bench-adapter` profiles the adapter under load. It is off by default and
// not a flag, because it is a developer's tool with no authentication.
func servePprof() {
	addr := os.Getenv("GATESCALE_ADAPTER_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		klog.ErrorS(err, "GATESCALE_ADAPTER_PPROF: not profiling")
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	klog.InfoS("serving pprof", "address", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }() //nolint:gosec // a developer's loopback tool
}
