// Package version tells which build of gatescale is running. Release
// builds (hack/build-images.sh) stamp Version and Commit with
//
//	-ldflags "-X github.com/gatescale/gatescale/internal/version.Version=0.1.0
//	          -X github.com/gatescale/gatescale/internal/version.Commit=abc123"
//
// Other builds fall back to what the Go toolchain recorded in the binary
// (module version, VCS revision), so `go build` and `go install` still say
// something true.
package version
