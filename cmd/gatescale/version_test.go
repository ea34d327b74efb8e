package main

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/gatescale/gatescale/internal/version"
)

func TestVersionCommand(t *testing.T) {
	old, oldCommit := version.Version, version.Commit
	t.Cleanup(func() { version.Version, version.Commit = old, oldCommit })
	version.Version, version.Commit = "1.2.3", "abc123"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "gatescale 1.2.3\ncommit: abc123\ngo: " + runtime.Version() + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	// Unstamped (go test, go build): still three lines, never empty values.
	version.Version, version.Commit = "", ""
	out.Reset()
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("gatescale devel\ncommit: ")) || bytes.Count(out.Bytes(), []byte("\n")) != 3 {
		t.Errorf("unstamped: %q", out.String())
	}
	if err := run(context.Background(), []string{"version", "-x"}, io.Discard, io.Discard); err == nil {
		t.Error("version -x: no error")
	}
}
