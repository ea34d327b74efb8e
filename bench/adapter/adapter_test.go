// Package adapter compares gatescale-adapter with prometheus-adapter v0.12.0
// at 1,000 pods: one real Prometheus scraping 1,000 pods × 10 metrics
// (10,000 series from a fixture exporter), one real kube-apiserver holding
// the 1,000 Pod objects, both adapters with the same rules file (the
// prometheus-adapter format gatescale-adapter takes unchanged). Run it with
// `make bench-adapter`; it prints a Markdown table and never fails on a
// number (only on a wrong answer).
package adapter

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/test/e2e/cluster"
)

const (
	pods    = 1000
	metrics = 10
	rounds  = 200 // label-selector requests per adapter, alternating
)

// rules is prometheus-adapter's configuration format; both adapters read it.
const rules = `rules:
- seriesQuery: '{__name__=~"bench_m[0-9]+_total",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
`

func repoRoot(t testing.TB) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// exporter serves 1,000 pods × 10 counters, each scrape a step higher.
func exporter() http.Handler {
	var scrapes atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		var b strings.Builder
		b.Grow(pods * metrics * 64)
		for m := range metrics {
			fmt.Fprintf(&b, "# TYPE bench_m%d_total counter\n", m)
			for p := range pods {
				fmt.Fprintf(&b, "bench_m%d_total{namespace=\"bench\",pod=\"pod-%04d\"} %d\n", m, p, n*int64(p%7+1))
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, b.String())
	})
}

type peer struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	url  string
	// discovery: from process start to the metric listed in the API.
	discovery time.Duration
	latencies []time.Duration
	idleKB    int    // resident set once the metric is discovered
	pprof     string // the profiler's base URL, with GATESCALE_BENCH_PROFILE
}

// profile is GATESCALE_BENCH_PROFILE: a folder to write gatescale-adapter's
// CPU profile (of the timed requests) and heap profile (after them) to.
var profile = os.Getenv("GATESCALE_BENCH_PROFILE")

// saveProfile writes the profiler's answer at path (e.g.
// /debug/pprof/heap) to the profile folder.
func saveProfile(t *testing.T, p *peer, path, file string) {
	resp, err := http.Get(p.pprof + path)
	if err != nil {
		t.Errorf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(profile, file), b, 0o644)
	}
	if err != nil {
		t.Errorf("profile %s: %v", path, err)
	}
}

func start(t *testing.T, name, bin, kubeconfig, promURL, rulesPath string) *peer {
	t.Helper()
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{name: name, done: make(chan struct{}), url: "https://127.0.0.1:" + strconv.Itoa(port)}
	p.cmd = exec.Command(bin)
	if profile != "" && strings.HasPrefix(name, "gatescale") {
		pport, err := cluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		p.pprof = "http://127.0.0.1:" + strconv.Itoa(pport)
		p.cmd.Env = append(os.Environ(), "GATESCALE_ADAPTER_PPROF=127.0.0.1:"+strconv.Itoa(pport))
	}
	p.cmd.Args = append(p.cmd.Args, "--secure-port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--cert-dir="+filepath.Join(dir, "certs"),
		"--lister-kubeconfig="+kubeconfig, "--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--prometheus-url="+promURL, "--config="+rulesPath, "--metrics-relist-interval=1m")
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cluster.StopProcessGroup(p.cmd, p.done, 10*time.Second)
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			s := string(b)
			if len(s) > 4000 {
				s = s[len(s)-4000:]
			}
			t.Logf("%s log (tail):\n%s", name, s)
		}
	})
	return p
}

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the adapters' self-signed serving certificates
	MaxIdleConnsPerHost: 4,
}}

func get(url, token string) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// rssKB is the process's peak resident set (VmHWM).
func rssKB(pid int) int { return statusKB(pid, "VmHWM") }

// statusKB is a kB field of /proc/PID/status: VmHWM (peak resident set),
// VmRSS, RssAnon (heap, stacks), RssFile (the binary's pages).
func statusKB(pid int, field string) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func pct(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func TestAdaptersAt1000Pods(t *testing.T) {
	if os.Getenv("GATESCALE_BENCH") == "" {
		t.Skip("a benchmark (control plane, Prometheus, two adapters): run it with make bench-adapter")
	}
	root := repoRoot(t)
	peerBin := filepath.Join(root, ".cache", "bin", "prometheus-adapter")
	if _, err := os.Stat(peerBin); err != nil {
		t.Fatalf("%s: %v (hack/build-prometheus-adapter.sh builds it)", peerBin, err)
	}
	ours := filepath.Join(t.TempDir(), "gatescale-adapter")
	build := exec.Command("go", "build", "-trimpath", "-o", ours, "./cmd/gatescale-adapter")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ctx := context.Background()
	c, err := cluster.Start(ctx, cluster.Options{Dir: t.TempDir(), BinDir: filepath.Join(root, ".cache", "kube")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Created by 8 workers, without client-side throttling (5 requests/s
	// by default: over 3 minutes for 1,000 pods).
	rc := rest.CopyConfig(c.RESTConfig)
	rc.QPS, rc.Burst = 1000, 1000
	fast, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(8)
	for i := range pods {
		g.Go(func() error {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%04d", i), Labels: map[string]string{"app": "bench"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
			_, err := fast.CoreV1().Pods("bench").Create(ctx, pod, metav1.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	exp := &http.Server{Handler: exporter()}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = exp.Serve(ln) }()
	t.Cleanup(func() { exp.Close() })
	prom := promtest.Start(t, promtest.Options{ScrapeInterval: 2 * time.Second, Targets: []promtest.Target{{Addr: ln.Addr().String()}}})
	// rate() over [1m] needs two samples of every series.
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, err := prom.Query(ctx, `count(rate(bench_m9_total[1m]))`)
		if err == nil && strings.Contains(string(raw), fmt.Sprintf(`"%d"`, pods)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no rates of %d pods: %s %v", pods, raw, err)
		}
		time.Sleep(time.Second)
	}

	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	token, kc := c.Tokens["admin"], c.Kubeconfigs["admin"]
	const metric = "bench_m0_per_second"
	peers := []*peer{}
	// One at a time, so that each discovery is timed on a quiet machine.
	for _, pp := range []struct{ name, bin string }{{"gatescale-adapter", ours}, {"prometheus-adapter v0.12.0", peerBin}} {
		began := time.Now()
		p := start(t, pp.name, pp.bin, kc, prom.URL, rulesPath)
		for {
			code, body, _ := get(p.url+"/apis/custom.metrics.k8s.io/v1beta1", token)
			if code == 200 && strings.Contains(string(body), "pods/"+metric) {
				p.discovery = time.Since(began)
				p.idleKB = statusKB(p.cmd.Process.Pid, "VmRSS")
				break
			}
			if time.Since(began) > 2*time.Minute {
				t.Fatalf("%s: %s not discovered within 2 min: %d %s", p.name, metric, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		peers = append(peers, p)
	}

	path := "/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench/pods/%2A/" + metric + "?labelSelector=app%3Dbench"
	// Warm-up, and the same answer from both: every pod, positive values.
	for _, p := range peers {
		code, body, err := get(p.url+path, token)
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %s", p.name, code, err, body)
		}
		var list struct {
			Items []struct {
				DescribedObject struct{ Name string } `json:"describedObject"`
				Value           string                `json:"value"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &list); err != nil || len(list.Items) != pods {
			t.Fatalf("%s: %d items (want %d): %v", p.name, len(list.Items), pods, err)
		}
	}
	cpuDone := make(chan struct{})
	if peers[0].pprof != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			t.Fatal(err)
		}
		// Covers most of the timed requests (each ~0.1-0.3 s, both adapters).
		go func() { defer close(cpuDone); saveProfile(t, peers[0], "/debug/pprof/profile?seconds=30", "cpu.pprof") }()
	} else {
		close(cpuDone)
	}
	for i := range rounds * len(peers) {
		p := peers[i%len(peers)] // alternate: drift on a shared machine hits both alike
		began := time.Now()
		code, body, err := get(p.url+path, token)
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %.200s", p.name, code, err, body)
		}
		p.latencies = append(p.latencies, time.Since(began))
	}

	<-cpuDone
	if peers[0].pprof != "" {
		saveProfile(t, peers[0], "/debug/pprof/heap", "heap.pprof")
		saveProfile(t, peers[0], "/debug/pprof/heap?debug=1", "heap.txt") // ends with runtime.MemStats
		saveProfile(t, peers[0], "/debug/pprof/allocs", "allocs.pprof")
	}
	var load string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var out strings.Builder
	fmt.Fprintf(&out, "Adapters at %d pods × %d metrics (%d series), %d label-selector requests each, alternating; %d cores, load average %s.\n\n",
		pods, metrics, pods*metrics, rounds, numCPU(), load)
	out.WriteString("| adapter | series discovery (start → metric listed) | p50 | p99 | peak RSS |\n|---|---|---|---|---|\n")
	for _, p := range peers {
		fmt.Fprintf(&out, "| %s | %s ms | %s ms | %s ms | %d MB |\n", p.name, ms(p.discovery), ms(pct(p.latencies, 0.5)), ms(pct(p.latencies, 0.99)), rssKB(p.cmd.Process.Pid)/1024)
	}
	a, b := peers[0], peers[1]
	fmt.Fprintf(&out, "| **ratio** gatescale / prometheus-adapter | %.2f | %.2f | %.2f | %.2f |\n",
		a.discovery.Seconds()/b.discovery.Seconds(),
		pct(a.latencies, 0.5).Seconds()/pct(b.latencies, 0.5).Seconds(),
		pct(a.latencies, 0.99).Seconds()/pct(b.latencies, 0.99).Seconds(),
		float64(rssKB(a.cmd.Process.Pid))/float64(rssKB(b.cmd.Process.Pid)))
	out.WriteString("\nResident set (MB): once the metric is listed; at the end, anonymous (heap, stacks) + file-backed (the binary's pages).\n\n| adapter | at discovery | at the end: anon + file |\n|---|---|---|\n")
	for _, p := range peers {
		pid := p.cmd.Process.Pid
		fmt.Fprintf(&out, "| %s | %d | %d + %d |\n", p.name, p.idleKB/1024, statusKB(pid, "RssAnon")/1024, statusKB(pid, "RssFile")/1024)
	}
	t.Log("\n" + out.String())
	if dst := os.Getenv("GATESCALE_BENCH_OUT"); dst != "" {
		if err := os.WriteFile(dst, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func numCPU() int { return runtime.NumCPU() }
