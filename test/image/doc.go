// Package image tests the container images make image builds
// (hack/build-images.sh, Containerfile): their names against the manifests,
// their metadata, and the gateway running in one with podman. It runs in
// make image-test, part of make test.
package image
