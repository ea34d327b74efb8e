package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestStampedValuesWin(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v9.9.9"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fromvcs"}}}
	got := get("0.1.0", "abc123", bi)
	if got != (Info{"0.1.0", "abc123", "go1.26.8"}) {
		t.Errorf("got %+v", got)
	}
}

func TestFallsBackToBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.modified", Value: "true"}}}
	if got := get("", "", bi); got != (Info{"v0.2.0", "deadbeef-dirty", "go1.26.8"}) {
		t.Errorf("got %+v", got)
	}
	// A plain `go build` in a checkout: (devel) and maybe no VCS info.
	if got := get("", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}); got != (Info{"devel", "unknown", runtime.Version()}) {
		t.Errorf("got %+v", got)
	}
	if got := get("", "", nil); got.Version != "devel" || got.GoVersion != runtime.Version() {
		t.Errorf("got %+v", got)
	}
}

// TestLdflagsStamp builds a tiny program with the same -X flags as
// hack/build-images.sh, so a renamed variable fails here and not only in
// an image.
func TestLdflagsStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	main := filepath.Join(dir, "main.go")
	if err := os.WriteFile(main, []byte("package main\n\nimport (\n\t\"os\"\n\n\t\"github.com/gatescale/gatescale/internal/version\"\n)\n\nfunc main() { _ = version.Fprint(os.Stdout, \"x\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The program must live inside the module to import an internal package.
	pkgDir, err := os.MkdirTemp(".", "stamp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pkgDir) })
	if err := os.Rename(main, filepath.Join(pkgDir, "main.go")); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "x")
	const pkg = "github.com/gatescale/gatescale/internal/version"
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X "+pkg+".Version=1.2.3 -X "+pkg+".Commit=cafe", "./"+pkgDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "x 1.2.3\ncommit: cafe\ngo: " + runtime.Version() + "\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
