package version

import (
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

// The -ldflags -X stamp itself is checked end to end by test/image: the
// version command in each image prints ./VERSION and the commit.
