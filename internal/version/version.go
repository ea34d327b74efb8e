package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set by the linker (-X); empty in an unstamped build.
var (
	Version string
	Commit  string
)

// Info is what a version subcommand prints.
type Info struct {
	Version   string
	Commit    string
	GoVersion string
}

// Get returns the stamped values, else those from the build info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(Version, Commit, bi)
}

func get(version, commit string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			info.Commit = rev
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// Fprint writes the name and version, then the commit and the Go version,
// one per line.
func Fprint(w io.Writer, name string) error {
	i := Get()
	_, err := fmt.Fprintf(w, "%s %s\ncommit: %s\ngo: %s\n", name, i.Version, i.Commit, i.GoVersion)
	return err
}
