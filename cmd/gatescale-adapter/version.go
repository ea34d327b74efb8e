package main

import (
	"flag"
	"io"

	"github.com/gatescale/gatescale/internal/version"
)

// runVersion prints the version, commit and Go version the binary was
// built with (stamped by hack/build-images.sh, else from the build info).
func runVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return version.Fprint(stdout, "gatescale-adapter")
}
