// Command genschema writes the JSON Schema of the configuration file
// (config.Schema) to -out: go generate ./gateway/config, or make schema.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gatescale/gatescale/gateway/config"
)

func main() {
	root := flag.String("root", ".", "the repository root (for the fields' doc comments)")
	out := flag.String("out", "docs/gatescale.schema.json", "where to write the schema")
	flag.Parse()
	b, err := config.Schema(*root)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
