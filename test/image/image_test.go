package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const registry = "ghcr.io/gatescale"

var binaries = []string{"gatescale", "gatescale-adapter"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

var imageLine = regexp.MustCompile(`(?m)^\s*image:\s*"?([^"\s#]+)`)

// manifestImages returns every image the manifests name, by file.
func manifestImages(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join(repoRoot(t), "manifests")
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range imageLine.FindAllSubmatch(b, -1) {
			rel, _ := filepath.Rel(root, p)
			out[string(m[1])] = rel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestManifestImagesFollowVersion: ./VERSION is the one source of the tag;
// the manifests must name exactly the images make image builds from it.
func TestManifestImagesFollowVersion(t *testing.T) {
	v := readVersion(t)
	want := map[string]bool{}
	for _, b := range binaries {
		want[registry+"/"+b+":"+v] = false
	}
	for img, file := range manifestImages(t) {
		if _, ok := want[img]; !ok {
			t.Errorf("%s names image %s; make image builds %v (tag from ./VERSION)", file, img, keys(want))
			continue
		}
		want[img] = true
	}
	for img, seen := range want {
		if !seen {
			t.Errorf("no manifest uses %s", img)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// podmanEnv is the environment podman needs on these machines: a
// containers.conf without default ulimits (setting them is not permitted).
func podmanEnv(t *testing.T) []string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "CONTAINERS_CONF="+conf)
}

type built struct{ name, id string }

// buildImages runs hack/build-images.sh (what make image runs) and returns
// the images it reports.
func buildImages(t *testing.T) []built {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "build-images.sh"))
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/build-images.sh: %v\n%s%s", err, out, stderr.String())
	}
	t.Logf("hack/build-images.sh took %v:\n%s", time.Since(start).Round(time.Second), strings.TrimSpace(stderr.String()))
	var imgs []built
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "image" {
			imgs = append(imgs, built{f[1], f[2]})
		}
	}
	if len(imgs) != len(binaries) {
		t.Fatalf("hack/build-images.sh reported %d images:\n%s", len(imgs), out)
	}
	return imgs
}

type imageConfig struct {
	ID     string `json:"Id"`
	Size   int64
	Config struct {
		User       string
		Entrypoint []string
		Cmd        []string
		Labels     map[string]string
	}
}

func inspectImage(t *testing.T, env []string, ref string) imageConfig {
	t.Helper()
	out, err := podmanCmd(env, "image", "inspect", ref).Output()
	if err != nil {
		t.Fatalf("podman image inspect %s: %v", ref, err)
	}
	var cfgs []imageConfig
	if err := json.Unmarshal(out, &cfgs); err != nil || len(cfgs) != 1 {
		t.Fatalf("podman image inspect %s: %v\n%s", ref, err, out)
	}
	return cfgs[0]
}

func podmanCmd(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("podman", args...)
	cmd.Env = env
	return cmd
}

// runArgs are the flags a container needs here (see RECIPES): runc (crun
// refuses hybrid cgroups), the host's ulimits, and the host network so it
// stays on loopback. --read-only is what the manifests ask for.
func runArgs(extra ...string) []string {
	return append([]string{"--runtime", "runc", "run", "--ulimit", "host", "--network", "host", "--read-only"}, extra...)
}

func gitHead(t *testing.T) string {
	out, err := exec.Command("git", "-C", repoRoot(t), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestImages builds both images as make image does, checks their names
// against the manifests, their metadata, and runs them: the adapter's and
// the gateway's version, then the gateway as the manifests run it (read-only
// root, non-root, configuration mounted read-only) in front of a backend.
func TestImages(t *testing.T) {
	requireReal := os.Getenv("CI") == "true" || os.Getenv("GATESCALE_REQUIRE_REAL") != ""
	if _, err := exec.LookPath("podman"); err != nil && !requireReal {
		// The script installs podman (Debian) as root; without root it can't.
		if os.Geteuid() != 0 {
			t.Skip("podman is not installed and this is not root: hack/build-images.sh would install it (set GATESCALE_REQUIRE_REAL or CI=true to make this a failure)")
		}
	}
	imgs := buildImages(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is not on PATH after hack/build-images.sh: %v", err)
	}
	env := podmanEnv(t)
	version := readVersion(t)
	head := gitHead(t)

	manifests := manifestImages(t)
	ids := map[string]string{}
	for _, img := range imgs {
		base := strings.TrimSuffix(strings.TrimPrefix(img.name, registry+"/"), ":"+version)
		ids[base] = img.id
		if _, ok := manifests[img.name]; !ok {
			t.Errorf("make image built %s, which no manifest names (they name %v)", img.name, manifests)
		}
		cfg := inspectImage(t, env, img.name)
		if cfg.ID != strings.TrimPrefix(img.id, "sha256:") {
			t.Errorf("%s is image %s, the build made %s", img.name, cfg.ID, img.id)
		}
		uid, _, _ := strings.Cut(cfg.Config.User, ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("%s: user %q: want a numeric non-root UID (runAsNonRoot needs a number)", img.name, cfg.Config.User)
		}
		l := cfg.Config.Labels
		for k, want := range map[string]string{
			"org.opencontainers.image.source":   "https://github.com/gatescale/gatescale",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.title":    base,
		} {
			if l[k] != want {
				t.Errorf("%s: label %s = %q, want %q", img.name, k, l[k], want)
			}
		}
		if rev := l["org.opencontainers.image.revision"]; strings.TrimSuffix(rev, "-dirty") != head {
			t.Errorf("%s: revision label %q, HEAD is %s", img.name, rev, head)
		}
		// The binaries are most of it; a stray layer (a base image, a
		// toolchain) would show here.
		if cfg.Size > 150<<20 {
			t.Errorf("%s is %d MB", img.name, cfg.Size>>20)
		}
		t.Logf("%s: %s, %.1f MB, user %s, entrypoint %v %v", img.name, cfg.ID[:12], float64(cfg.Size)/1e6, cfg.Config.User, cfg.Config.Entrypoint, cfg.Config.Cmd)
	}

	// Can containers run here at all? If not, fall back to the unpacked
	// root filesystem, and say so.
	out, err := podmanCmd(env, runArgs("--rm", ids["gatescale"], "version")...).CombinedOutput()
	if os.Getenv("GATESCALE_IMAGE_FALLBACK") != "" { // to exercise the fallback where podman works
		err = fmt.Errorf("GATESCALE_IMAGE_FALLBACK is set")
	}
	if err != nil {
		t.Logf("FALLBACK: podman cannot run containers here (%v):\n%s\nChecking the images by running their entrypoints from the unpacked root filesystems instead.", err, out)
		fallback(t, env, imgs, version, head)
		return
	}
	for _, b := range binaries {
		out, err := podmanCmd(env, runArgs("--rm", ids[b], "version")...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", b, err, out)
		}
		checkVersionOutput(t, b, string(out), version, head)
	}
	t.Run("gateway", func(t *testing.T) { runGatewayContainer(t, env, ids["gatescale"]) })
}

func checkVersionOutput(t *testing.T, bin, out, version, head string) {
	t.Helper()
	want := fmt.Sprintf("%s %s\ncommit: %s", bin, version, head)
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "\ngo: go1.") {
		t.Errorf("%s version printed %q, want it to start %q and name the Go version", bin, out, want)
	} else {
		t.Logf("%s version: %q", bin, out)
	}
}

// backend answers every request with its path; the test sees its answer
// only through the gateway.
func backend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s", r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// gatewayConfig writes a configuration directory for the gateway: listen on
// free loopback ports, one route to the backend.
func gatewayConfig(t *testing.T, backendAddr string) (dir, addr, admin string) {
	t.Helper()
	dir = t.TempDir()
	addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`listen: %s
admin_listen: %s
drain_period: 100ms
shutdown_timeout: 2s
upstreams:
  hello:
    instances: [%s]
routes:
  - name: hello
    path_prefix: /hello
    upstream: hello
`, addr, admin, backendAddr)
	if err := os.WriteFile(filepath.Join(dir, "gatescale.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Readable by the container's non-root user.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, addr, admin
}

// checkGateway waits for /readyz on the admin listener, then sends a request
// through the proxy listener.
func checkGateway(t *testing.T, addr, admin string, logs func() string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway /readyz not 200 after 30s (last: %v)\n%s", err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := client.Get("http://" + addr + "/hello/world")
	if err != nil {
		t.Fatalf("GET through the gateway: %v\n%s", err, logs())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "backend saw /hello/world" {
		t.Fatalf("through the gateway: %d %q\n%s", resp.StatusCode, body, logs())
	}
	t.Logf("GET %s/readyz: 200; GET %s/hello/world: %d %q", admin, addr, resp.StatusCode, body)
}

func runGatewayContainer(t *testing.T, env []string, id string) {
	dir, addr, admin := gatewayConfig(t, backend(t))
	name := fmt.Sprintf("gatescale-imagetest-%d", time.Now().UnixNano())
	// The image's default command reads /etc/gatescale/gatescale.yaml, as
	// the Deployment mounts it.
	out, err := podmanCmd(env, runArgs("-d", "--name", name, "-v", dir+":/etc/gatescale:ro", id)...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run -d: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := podmanCmd(env, "rm", "-f", "-t", "2", name).CombinedOutput(); err != nil {
			t.Errorf("podman rm -f %s: %v\n%s", name, err, out)
		}
	})
	logs := func() string {
		out, _ := podmanCmd(env, "logs", name).CombinedOutput()
		return "container log:\n" + string(out)
	}
	checkGateway(t, addr, admin, logs)

	out, err = podmanCmd(env, "container", "inspect", name).Output()
	if err != nil {
		t.Fatalf("podman container inspect: %v", err)
	}
	var cs []struct {
		Config     struct{ User string }
		HostConfig struct{ ReadonlyRootfs bool }
		State      struct{ Pid int }
	}
	if err := json.Unmarshal(out, &cs); err != nil || len(cs) != 1 {
		t.Fatalf("podman container inspect: %v\n%s", err, out)
	}
	c := cs[0]
	if !c.HostConfig.ReadonlyRootfs {
		t.Error("the container's root filesystem is not read-only")
	}
	// The process's real IDs, read from the host's /proc: no `id` in a
	// scratch image, and the configured user alone proves nothing.
	uid, gid := procIDs(t, c.State.Pid)
	if uid != 65532 || gid != 65532 {
		t.Errorf("the gateway runs as uid %d gid %d, want 65532 (configured user %q)", uid, gid, c.Config.User)
	}
	t.Logf("container %s: user %q, pid %d runs as uid %d gid %d, read-only root %t", name, c.Config.User, c.State.Pid, uid, gid, c.HostConfig.ReadonlyRootfs)
}

func procIDs(t *testing.T, pid int) (uid, gid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("the container's process: %v", err)
	}
	uid, gid = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "Uid:" {
			uid, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "Gid:" {
			gid, _ = strconv.Atoi(f[1])
		}
	}
	return uid, gid
}

// fallback checks what it can without running containers: it exports each
// image with skopeo, unpacks its layers, and runs the entrypoint from that
// root filesystem as the image's user.
func fallback(t *testing.T, env []string, imgs []built, version, head string) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("skopeo is not installed either: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the fallback runs the entrypoint as UID 65532 and needs root")
	}
	roots := map[string]string{}
	for _, b := range binaries {
		dir := t.TempDir()
		ociDir := filepath.Join(dir, "oci")
		var name string
		for _, img := range imgs {
			if strings.Contains(img.name, "/"+b+":") {
				name = img.name
			}
		}
		cmd := exec.Command("skopeo", "copy", "containers-storage:"+name, "oci:"+ociDir+":img")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v\n%s", b, err, out)
		}
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		rootfs := filepath.Join(dir, "rootfs")
		unpackOCI(t, ociDir, rootfs)
		roots[b] = rootfs
		out, err := asUser(exec.Command(filepath.Join(rootfs, "usr/local/bin", b), "version")).CombinedOutput()
		if err != nil {
			t.Fatalf("%s version from the rootfs: %v\n%s", b, err, out)
		}
		checkVersionOutput(t, b, string(out), version, head)
	}
	dir, addr, admin := gatewayConfig(t, backend(t))
	// t.TempDir's parent is 0700; the non-root process must reach the file.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	cmd := asUser(exec.CommandContext(ctx, filepath.Join(roots["gatescale"], "usr/local/bin/gatescale"), "run", "-config", filepath.Join(dir, "gatescale.yaml")))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	checkGateway(t, addr, admin, logs.String)
	t.Log("FALLBACK used: the gateway ran from the image's unpacked rootfs as uid 65532, not in a container")
}

func asUser(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	return cmd
}

// unpackOCI extracts the layers of the single image in an OCI layout.
func unpackOCI(t *testing.T, ociDir, rootfs string) {
	t.Helper()
	blob := func(digest string) string {
		return filepath.Join(ociDir, "blobs", strings.Replace(digest, ":", "/", 1))
	}
	var index struct{ Manifests []struct{ Digest string } }
	readJSON(t, filepath.Join(ociDir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("%s: %d manifests", ociDir, len(index.Manifests))
	}
	var manifest struct {
		Layers []struct{ Digest, MediaType string }
	}
	readJSON(t, blob(index.Manifests[0].Digest), &manifest)
	for _, l := range manifest.Layers {
		f, err := os.Open(blob(l.Digest))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(l.MediaType, "gzip") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		untar(t, r, rootfs)
		f.Close()
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func untar(t *testing.T, r io.Reader, dst string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}
