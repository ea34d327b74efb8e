package consultest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/sdk/testutil"
)

// Agent is a running (or stopped) test agent.
type Agent struct {
	t       testing.TB
	srv     *testutil.TestServer
	ports   *testutil.TestPortConfig
	dataDir string
	nodeID  string
	Client  *api.Client
	Addr    string // host:port of the HTTP API
}

// Require makes the consul binary findable, or skips (fails when
// GATESCALE_REQUIRE_REAL is set, as in CI) when it is not built.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("consul"); err == nil {
		return
	}
	// The repo's cache, found from the package directory upwards.
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		bin := filepath.Join(d, ".cache", "bin")
		if _, err := os.Stat(filepath.Join(bin, "consul")); err == nil {
			os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			return
		}
	}
	if os.Getenv("GATESCALE_REQUIRE_REAL") != "" {
		t.Fatal("consul binary not found: run hack/build-consul.sh (make test does)")
	}
	t.Skip("consul binary not found: run hack/build-consul.sh")
}

// Start starts an agent on free loopback ports and stops it when the test
// ends.
func Start(t testing.TB) *Agent {
	t.Helper()
	Require(t)
	a := &Agent{t: t, dataDir: t.TempDir()}
	a.start()
	t.Cleanup(func() { a.Stop() })
	return a
}

func (a *Agent) start() {
	a.t.Helper()
	srv, err := testutil.NewTestServerConfigT(a.t, func(c *testutil.TestServerConfig) {
		c.DataDir = a.dataDir // outside the sdk's temp dir, so it survives Stop
		c.LogLevel = "warn"
		c.Connect = nil
		c.Peering = nil
		if a.ports != nil {
			c.Ports = a.ports
			c.NodeID = a.nodeID
			c.NodeName = "node-" + a.nodeID
		}
	})
	if err != nil {
		a.t.Fatalf("start consul: %v", err)
	}
	srv.WaitForLeader(a.t)
	a.srv, a.ports, a.nodeID = srv, srv.Config.Ports, srv.Config.NodeID
	a.Addr = srv.HTTPAddr
	if a.Client == nil {
		cfg := api.DefaultConfig()
		cfg.Address = srv.HTTPAddr
		if a.Client, err = api.NewClient(cfg); err != nil {
			a.t.Fatal(err)
		}
	}
}

// Stop stops the agent; its data stays for Restart.
func (a *Agent) Stop() {
	if a.srv != nil {
		_ = a.srv.Stop()
		a.srv = nil
	}
}

// Restart starts the agent again on the same ports with the same data.
func (a *Agent) Restart() {
	a.t.Helper()
	a.Stop()
	a.start()
}
