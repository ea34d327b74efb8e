package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
	"github.com/gatescale/gatescale/internal/proctest"
)

// startGatescale runs bin with config and waits until it serves; it is
// stopped (SIGTERM, then drained) when the test ends.
func startGatescale(t *testing.T, bin, config string) *proctest.Process {
	t.Helper()
	cmd := exec.Command(bin, "run", "-config", config, "-log-format", "text", "-watch", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return proctest.Start(t, cmd)
}

// buildGatescale builds cmd/gatescale once for the test.
func buildGatescale(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatescale")
	// Built as the images are (static, -trimpath): `make image` and the
	// e2e then reuse this compilation from Go's build cache.
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/gatescale/gatescale/cmd/gatescale")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// offer sends rate requests per second for d, spread round robin over
// targets, open loop (a slow answer does not slow the offered rate), and
// counts the answers by status.
func offer(t *testing.T, client *http.Client, targets []string, rate float64, d time.Duration) map[int]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	start := time.Now()
	var errs atomic.Int64
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait) // pacing the offered load, not waiting for a condition
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(target string) {
			defer func() { <-sem; wg.Done() }()
			resp, err := client.Get(target)
			if err != nil {
				errs.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}(targets[i%len(targets)])
	}
	wg.Wait()
	if e := errs.Load(); e > 0 {
		t.Fatalf("%d requests failed without a response", e)
	}
	return codes
}

// TestClusterRateLimit runs three gatescale processes sharing one real
// Redis and shows that a store: redis limit holds across them (where a
// local one lets three times through), and that with Redis down the limit
// fails open (or closed, where configured) with a metric and a log line.
func TestClusterRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three gatescale processes")
	}
	rdb := redistest.Start(t)
	backend := newBackend(t, "backend")
	bin := buildGatescale(t)

	const rate, burst = 100, 10
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
drain_period: 50ms
shutdown_timeout: 2s
rate_limit:
  redis: {addr: "%s", timeout: 250ms, backoff: 300ms}
upstreams:
  backend:
    instances: ["%s"]
routes:
  - name: cluster
    path_prefix: /cluster
    upstream: backend
    rate_limit: [{name: cluster, rate: %d, per: 1s, burst: %d, store: redis}]
  - name: local
    path_prefix: /local
    upstream: backend
    rate_limit: [{name: local, rate: %d, per: 1s, burst: %d}]
  - name: closed
    path_prefix: /closed
    upstream: backend
    rate_limit: [{name: closed, rate: 1000, per: 1s, store: redis, failure_mode: closed}]
`, rdb.Addr, backend.addr(), rate, burst, rate, burst)
	path := filepath.Join(t.TempDir(), "gatescale.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var procs []*proctest.Process
	for range 3 {
		procs = append(procs, startGatescale(t, bin, path))
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	defer client.CloseIdleConnections()
	urls := func(route string) []string {
		var out []string
		for _, p := range procs {
			out = append(out, "http://"+p.Addr+route)
		}
		return out
	}

	// Three times the limit, through all three gateways for 4 s.
	const window = 4 * time.Second
	codes := offer(t, client, urls("/cluster/x"), 3*rate, window)
	admitted := float64(codes[200]) / window.Seconds()
	t.Logf("store: redis, 3 processes: offered %d/s, admitted %d (%.1f/s; configured %d/s, burst %d), refused %d",
		3*rate, codes[200], admitted, rate, burst, codes[429])
	if admitted < 0.9*rate || admitted > 1.1*rate {
		t.Errorf("cluster-wide limit: admitted %.1f/s across 3 processes, want %d/s ±10%%", admitted, rate)
	}
	if codes[200]+codes[429] != int(3*rate*window.Seconds()) {
		t.Errorf("unexpected statuses: %v", codes)
	}

	// The same limit kept in each process lets each process admit it.
	codes = offer(t, client, urls("/local/x"), 3*rate, window)
	local := float64(codes[200]) / window.Seconds()
	t.Logf("store: local, 3 processes: admitted %d (%.1f/s, %.1fx the configured rate)", codes[200], local, local/rate)
	if local < 2.5*rate {
		t.Errorf("local limit across 3 processes admitted %.1f/s; expected about 3x %d/s", local, rate)
	}

	// Redis down: fail open by default, closed where configured; counted
	// and logged.
	rdb.Stop()
	p := procs[0]
	for i := range 20 {
		if code := get(t, client, "http://"+p.Addr+"/cluster/y"); code != 200 {
			t.Fatalf("request %d with Redis down: %d, want 200 (fail open)", i, code)
		}
	}
	if code := get(t, client, "http://"+p.Addr+"/closed/y"); code != http.StatusServiceUnavailable {
		t.Fatalf("failure_mode closed with Redis down: %d, want 503", code)
	}
	metrics := scrape(t, client, p.AdminAddr)
	for _, want := range []string{
		`gatescale_ratelimit_store_errors_total{mode="open",policy="cluster",route="cluster"} 20`,
		`gatescale_ratelimit_store_errors_total{mode="closed",policy="closed",route="closed"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "gatescale_ratelimit"))
		}
	}
	if !strings.Contains(p.Log(), "rate limit store unavailable; failing open") ||
		!strings.Contains(p.Log(), "rate limit store unavailable; failing closed") {
		t.Errorf("no log line for the outage:\n%s", p.Log())
	}

	// Redis back: limits apply again once the backoff has passed.
	if err := rdb.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + p.Addr + "/cluster/z")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("RateLimit") != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rate limiting did not resume after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.Log(), "rate limit store reachable again") {
		t.Errorf("no log line for the recovery")
	}
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func scrape(t *testing.T, c *http.Client, admin string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+admin+"/metrics", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
