package bench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if RunRole() {
		return
	}
	os.Exit(m.Run())
}

// TestSmoke keeps the harness working: one short round of the targets that
// need no Go peer build (direct, the bare proxy, the gatescale variants,
// nginx when installed), the fixed-rate phase included. It checks that
// every target was measured and answered without errors and that the
// report names each one; it never checks a number against a goal.
func TestSmoke(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("GATESCALE_REQUIRE_REAL") == "1" {
			t.Fatal("wrk not installed (hack/install-debs.sh wrk) and GATESCALE_REQUIRE_REAL=1")
		}
		t.Skip("wrk not installed (hack/install-debs.sh wrk)")
	}
	targets := []string{"direct", "bare-proxy", "gatescale-routing", "gatescale-full", "gatescale-compose"}
	if _, err := exec.LookPath("nginx"); err == nil {
		targets = append(targets, "nginx")
	} else if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		targets = append(targets, "nginx")
	} else {
		t.Log("nginx not installed: left out of the smoke run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Targets: targets, Rounds: 1, Duration: time.Second, Warmup: -1,
		Conns: []int{16}, LatencyDuration: time.Second, LatencyRounds: 1, LoadFraction: 0.1,
		Syscalls: true, Log: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Targets {
		if tr.Missing != "" {
			t.Errorf("%s: %s", tr.Name, tr.Missing)
			continue
		}
		if len(tr.Runs) != 1 {
			t.Fatalf("%s: %d runs, want 1", tr.Name, len(tr.Runs))
		}
		m := tr.Runs[0]
		if m.Err != "" || m.Requests == 0 || m.Errors != 0 || m.RSS == 0 {
			t.Errorf("%s: run %+v: want requests, no errors and a peak RSS", tr.Name, m)
		}
		if tr.Latency == nil || tr.Latency.Achieved == 0 || tr.Latency.Errors != 0 {
			t.Errorf("%s: fixed-rate run %+v (%s): want answers and no errors", tr.Name, tr.Latency, tr.LatError)
		}
		if m.CPU <= 0 || m.BackendCPU <= 0 {
			t.Errorf("%s: CPU time %v, backend's %v: want both measured", tr.Name, m.CPU, m.BackendCPU)
		}
		// perf and tracefs are not part of what make test installs: where
		// they cannot count, the report says why and so does this log.
		if s := tr.Syscalls; s == nil {
			t.Logf("%s: system calls not counted: %s", tr.Name, tr.SyscallsErr)
		} else if s.Requests == 0 || s.Reads < 1 || s.Writes < 1 || s.Total < s.Reads+s.Writes {
			// Every answer takes at least a read of the request and a
			// write of the answer.
			t.Errorf("%s: system calls per request %+v", tr.Name, *s)
		}
	}
	md := res.Markdown()
	for _, name := range targets {
		if !strings.Contains(md, "| "+name+" |") {
			t.Errorf("report has no row for %s:\n%s", name, md)
		}
	}
	if !strings.Contains(md, "shared 2-core") && !strings.Contains(md, "-core machine") {
		t.Errorf("report does not say what machine it ran on:\n%s", md)
	}
}

// TestReportNamesMissingPeers: a peer that is not built is a row saying
// so, in the table and in the ratios, never silently dropped.
func TestReportNamesMissingPeers(t *testing.T) {
	res := &Result{Options: Options{Rounds: 1, Conns: []int{64}, LoadFraction: 0.5}, CPUs: []int{0, 1}}
	res.Options.defaults()
	for _, tg := range Targets() {
		tr := &TargetResult{Target: tg}
		switch tg.Name {
		case "traefik":
			tr.Missing = "not built (hack/build-peers.sh traefik)"
		case "direct":
			tr.Runs = []Measurement{{Conns: 64, RPS: 1000, P50: 100, P99: 200, P999: 300, RSS: 1 << 20}}
		default:
			tr.Runs = []Measurement{{Conns: 64, RPS: 500, P50: 150, P99: 300, P999: 400, RSS: 1 << 20}}
		}
		res.Targets = append(res.Targets, tr)
	}
	md := res.Markdown()
	if !strings.Contains(md, "| traefik | not built (hack/build-peers.sh traefik) |") {
		t.Errorf("missing peer not reported as not built:\n%s", md)
	}
	if !strings.Contains(md, "| gatescale-routing | 1.00 | 1.00 | not built |") {
		t.Errorf("ratio row does not name the missing peer:\n%s", md)
	}
	if got := res.Ratio("gatescale-routing", "direct", 64); got != 0.5 {
		t.Errorf("ratio to direct = %v, want 0.5", got)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
