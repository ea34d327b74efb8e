package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatescale/gatescale/test/e2e/cluster"
)

// repoRoot is two levels up from this package.
func repoRoot(t testing.TB) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireBinaries skips (or fails when GATESCALE_REQUIRE_KUBE is set, as in
// make e2e) when the control plane is not built or etcd is not installed.
func requireBinaries(t testing.TB) string {
	bin := filepath.Join(repoRoot(t), ".cache", "kube")
	_, err := os.Stat(filepath.Join(bin, "kube-apiserver"))
	if err == nil {
		_, err = exec.LookPath("etcd")
	}
	if err != nil {
		if os.Getenv("GATESCALE_REQUIRE_KUBE") != "" {
			t.Fatalf("control plane not available (hack/build-kube.sh, hack/install-debs.sh etcd-server): %v", err)
		}
		t.Skipf("control plane not available: %v", err)
	}
	return bin
}

// startCluster starts a control plane that the test stops at its end.
func startCluster(t *testing.T, o cluster.Options) *cluster.Cluster {
	t.Helper()
	o.BinDir = requireBinaries(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// goBuild builds a command of this module into dir.
func goBuild(t testing.TB, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	// Built as the images are (static, -trimpath), so this build and
	// `make image` share Go's build cache instead of compiling twice.
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
