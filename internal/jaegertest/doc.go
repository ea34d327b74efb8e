// Package jaegertest starts a real Jaeger v2 (all-in-one, in-memory
// storage) for tests, with the binary that hack/build-jaeger.sh caches in
// .cache/bin, and reads traces back through its query API.
//
// Jaeger's defaults listen on fixed ports, some on every interface; the
// config written here puts every endpoint on 127.0.0.1 and a free port.
package jaegertest
