package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireRealEnv is the environment variable that turns a missing
// prometheus binary from a skip into a failure.
const RequireRealEnv = "GATESCALE_REQUIRE_REAL"

// Options configure Start.
type Options struct {
	// ScrapeInterval is the global scrape interval (default 1s).
	ScrapeInterval time.Duration
	// Args are extra command-line arguments, e.g.
	// --enable-feature=native-histograms.
	Args []string
	// Targets are the initial targets (see SetTargets).
	Targets []Target
	// RuleFiles are listed under rule_files (evaluated every ScrapeInterval).
	RuleFiles []string
	// Binary is the prometheus executable (default: prometheus on PATH,
	// see Binary; Prometheus3Binary finds a Prometheus 3).
	Binary string
}

// Target is one scrape target: host:port of a /metrics endpoint and the
// labels Prometheus attaches to its series (namespace, pod...).
type Target struct {
	Addr   string
	Labels map[string]string
	// Path is the metrics path (default /metrics).
	Path string
}

// Server is a running Prometheus.
type Server struct {
	// URL is its base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Dir holds its configuration, targets, TSDB and log.
	Dir string

	cmd     *exec.Cmd
	done    chan struct{}
	sdDir   string
	logPath string
}

// Binary returns the path of the prometheus binary, or skips (or fails,
// with GATESCALE_REQUIRE_REAL set) the test when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv(RequireRealEnv) != "" {
			t.Fatalf("prometheus is not on PATH and %s is set: run hack/install-debs.sh prometheus", RequireRealEnv)
		}
		t.Skipf("prometheus is not on PATH (hack/install-debs.sh prometheus installs it; set %s to make this a failure)", RequireRealEnv)
	}
	return bin
}

// Prometheus3Env is the environment variable that turns a missing
// Prometheus 3 binary from a skip into a failure. It is not
// GATESCALE_REQUIRE_REAL: building Prometheus 3 is not part of `make deps`
// (see hack/build-prometheus3.sh).
const Prometheus3Env = "GATESCALE_REQUIRE_PROMETHEUS3"

// Prometheus3Binary returns the path of prometheus3, a Prometheus 3 built
// by hack/build-prometheus3.sh, or skips the test when it is not on PATH
// (fails it with GATESCALE_REQUIRE_PROMETHEUS3 set).
func Prometheus3Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus3")
	if err != nil {
		if os.Getenv(Prometheus3Env) != "" {
			t.Fatalf("prometheus3 is not on PATH and %s is set: run hack/build-prometheus3.sh (make prometheus3) and put .cache/bin on PATH", Prometheus3Env)
		}
		t.Skipf("prometheus3 is not on PATH (hack/build-prometheus3.sh builds it into .cache/bin; set %s to make this a failure)", Prometheus3Env)
	}
	return bin
}

// Start starts Prometheus and waits until it is ready. It is stopped when
// the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := o.Binary
	if bin == "" {
		bin = Binary(t)
	}
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = time.Second
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, sdDir: filepath.Join(dir, "sd"), logPath: filepath.Join(dir, "prometheus.log")}
	if err := os.MkdirAll(s.sdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.SetTargets(t, o.Targets...)
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
- job_name: test
  file_sd_configs:
  - files: [%[2]q]
    refresh_interval: 1s
  relabel_configs:
  - source_labels: [__metrics_path_override__]
    regex: (.+)
    target_label: __metrics_path__
`, o.ScrapeInterval, filepath.Join(s.sdDir, "*.json"))
	for i, f := range o.RuleFiles {
		if i == 0 {
			cfg += "rule_files:\n"
		}
		cfg += fmt.Sprintf("- %q\n", f)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The port is chosen by binding :0 and releasing it; another process
	// may take it in between, so a failed start is retried on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		lastErr = s.start(bin, cfgPath, port, o.Args)
		if lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("prometheus did not start: %v\n%s", lastErr, s.LogTail(40))
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin, cfgPath string, port int, extra []string) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(s.Dir, "data"),
		"--web.listen-address=" + addr,
		"--storage.tsdb.retention.time=1h",
		// No web UI assets are needed; and a short lookback makes a
		// stopped target's series disappear from instant queries quickly.
		"--query.lookback-delta=30s",
	}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a signal meant for the test runner's
	// group does not reach it first and so stop can signal the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	s.URL = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited: %v", cmd.ProcessState)
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("prometheus at %s not ready after 20s", s.URL)
}

// stop terminates Prometheus: SIGTERM, then SIGKILL after 10s.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Stop stops Prometheus now (the cleanup would otherwise), e.g. to test
// what the adapter says when Prometheus is down.
func (s *Server) Stop() { s.stop() }

// LogTail returns the last n lines of Prometheus's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// SetTargets replaces the scrape targets. Prometheus picks the change up
// within about a second (file_sd watches the file).
func (s *Server) SetTargets(t testing.TB, targets ...Target) {
	t.Helper()
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
	groups := []group{}
	for _, tg := range targets {
		l := map[string]string{}
		for k, v := range tg.Labels {
			l[k] = v
		}
		if tg.Path != "" {
			l["__metrics_path_override__"] = tg.Path
		}
		groups = append(groups, group{Targets: []string{tg.Addr}, Labels: l})
	}
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	// Write and rename, so Prometheus never reads half a file.
	tmp := filepath.Join(s.sdDir, ".targets.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.sdDir, "targets.json")); err != nil {
		t.Fatal(err)
	}
}

// Query runs an instant PromQL query and returns the result's "data"
// member as JSON, for tests that check Prometheus directly.
func (s *Server) Query(ctx context.Context, q string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %s", err, bytes.TrimSpace(body))
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	return r.Data, nil
}

// WaitFor polls the instant query q until it returns at least n series or
// timeout passes (then the test fails).
func (s *Server) WaitFor(t testing.TB, q string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		data, err := s.Query(ctx, q)
		cancel()
		if err == nil {
			var v struct {
				Result []json.RawMessage `json:"result"`
			}
			if json.Unmarshal(data, &v) == nil && len(v.Result) >= n {
				return
			}
			last = string(data)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s returns fewer than %d series; last answer: %.500s\nprometheus log:\n%s", timeout, q, n, last, s.LogTail(20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ServeMetrics serves write's output as a Prometheus text exposition on a
// free loopback port, until the test ends, and returns host:port. write is
// called for every scrape, so it can change what it exposes.
func ServeMetrics(t testing.TB, write func(w io.Writer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		write(w)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
