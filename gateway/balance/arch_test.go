package balance_test

import (
	"os"
	"os/exec"
	"testing"
)

// TestBuildsFor32BitPlatforms: the gateway is embeddable, and 32-bit ARM
// (armv7 boards, older appliances) and 386 are platforms Go supports; a
// constant that does not fit in a 32-bit int made this package, and so
// every package that balances, fail to compile there. The real toolchain
// builds the package for both.
func TestBuildsFor32BitPlatforms(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the package")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain on PATH: %v", err)
	}
	for _, arch := range []string{"386", "arm"} {
		cmd := exec.Command(gobin, "build", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOARCH=%s: %v\n%s", arch, err, out)
		}
	}
}
