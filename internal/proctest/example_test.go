package proctest_test

import (
	"os/exec"
	"testing"

	"github.com/gatescale/gatescale/internal/proctest"
)

// Start a gatescale binary and call it on the address it announced.
func ExampleStart() {
	var t testing.TB // the test's
	if t == nil {
		return // (an example without a binary to run)
	}
	p := proctest.Start(t, exec.Command("gatescale", "run", "-config", "gatescale.yaml"))
	_ = "http://" + p.Addr + "/users/1"
}
