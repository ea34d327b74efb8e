package balance_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildsFor32BitPlatforms: the gateway is embeddable, and 32-bit ARM
// (armv7 boards, older appliances) and 386 are platforms Go supports; a
// constant that does not fit in a 32-bit int made this package, and so
// every package that balances, fail to compile there. The package is
// type-checked with 32-bit sizes, which finds such constants as the
// compiler does, without cross-compiling the standard library (a minute
// on a cold cache).
func TestBuildsFor32BitPlatforms(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			f, err := parser.ParseFile(fset, n, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	// The dependencies' export data, from the go command (host builds:
	// only declarations are read from them).
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, file, ok := strings.Cut(strings.TrimSpace(line), " "); ok && file != "" {
			exports[path] = file
		}
	}
	lookup := func(path string) (io.ReadCloser, error) {
		if f, ok := exports[path]; ok {
			return os.Open(f)
		}
		return nil, fmt.Errorf("no export data for %s", path)
	}
	for _, arch := range []string{"386", "arm"} {
		conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup), Sizes: types.SizesFor("gc", arch)}
		if _, err := conf.Check("github.com/gatescale/gatescale/gateway/balance", fset, files, nil); err != nil {
			t.Errorf("GOARCH=%s: %v", arch, err)
		}
	}
}
