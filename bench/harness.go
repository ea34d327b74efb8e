package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options say what to run and how long.
type Options struct {
	// Targets to measure by name (default: all of Targets()).
	Targets []string
	// Rounds of closed-loop measurement; each round runs every target once,
	// in alternating order (default 3).
	Rounds int
	// Duration of each wrk run (default 8s), after a Warmup (default 1s;
	// negative: none).
	Duration, Warmup time.Duration
	// Conns are the wrk connection counts, each measured (default 64).
	Conns []int
	// LatencyDuration is how long each fixed-rate run lasts (default 8s;
	// negative: no fixed-rate runs).
	LatencyDuration time.Duration
	// LatencyRounds of fixed-rate runs, in alternating order (default 2).
	LatencyRounds int
	// LoadFraction of direct's maximum is the fixed rate (default 0.5).
	LoadFraction float64
	// PeersDir holds the peers hack/build-peers.sh built.
	PeersDir string
	// Self is the binary to re-execute in a role (default os.Executable);
	// its main or TestMain must call RunRole first.
	Self string
	// Syscalls adds one run per target, after the others, in which perf
	// stat counts the target's system calls by kind (see Syscalls). The
	// tracing slows every target, so that run's throughput is not reported.
	Syscalls bool
	// ProfileDir, when set, receives a CPU and an allocation pprof file of
	// every gatescale target process (its whole life: warm-up and run).
	ProfileDir string
	// Log receives progress lines (default io.Discard).
	Log io.Writer
}

// Measurement is one wrk run of one target.
type Measurement struct {
	Round    int
	Conns    int
	RPS      float64
	P50      float64 // microseconds
	P99      float64
	P999     float64
	Errors   int     // socket errors and non-2xx answers
	RSS      int64   // peak resident set of the target's processes, bytes
	Load1    float64 // load average (1 min) when the run ended
	Err      string  // why nothing was measured
	Requests int64
	// CPU is the user + system time the target's processes used during
	// the run, BackendCPU the backend's (for direct, both are the
	// backend's): CPU / Requests is what a request costs the target.
	CPU, BackendCPU time.Duration
}

// TargetResult gathers a target's measurements.
type TargetResult struct {
	Target
	// Missing says why the target was not measured ("not built").
	Missing string
	Runs    []Measurement
	// Latency is the median over LatencyRuns, metric by metric.
	Latency     *openLoopResult
	LatencyRuns []openLoopResult
	// Common is the same at Result.CommonRate.
	Common     *openLoopResult
	CommonRuns []openLoopResult
	LatError   string
	// Syscalls is what the Options.Syscalls run counted (nil: not run, or
	// SyscallsErr says why not).
	Syscalls    *Syscalls
	SyscallsErr string
}

// Result is a whole run.
type Result struct {
	Started    time.Time
	Options    Options
	CPUs       []int // usable cores
	GenCPUs    []int // the load generator's
	TargetCPUs []int // the targets' and the backend's
	Pinned     bool
	LoadStart  [3]float64
	LoadEnd    [3]float64
	WrkVersion string
	FixedRate  float64
	// CommonRate is LoadFraction of the slowest target's maximum: a rate
	// every target serves (0: not run, when it is close to FixedRate).
	CommonRate  float64
	Targets     []*TargetResult
	Environment string
}

func (o *Options) defaults() {
	if len(o.Targets) == 0 {
		for _, t := range Targets() {
			o.Targets = append(o.Targets, t.Name)
		}
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 8 * time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = time.Second
	}
	if len(o.Conns) == 0 {
		o.Conns = []int{64}
	}
	if o.LatencyDuration == 0 {
		o.LatencyDuration = 8 * time.Second
	}
	if o.LatencyRounds <= 0 {
		o.LatencyRounds = 2
	}
	if o.LoadFraction <= 0 {
		o.LoadFraction = 0.5
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Run measures the targets: closed-loop rounds with wrk, then a fixed-rate
// run per target at LoadFraction of direct's median maximum. A target that
// cannot run is kept in the result with the reason; a run that fails is
// recorded with its error. Run returns an error only when nothing can be
// measured at all (no wrk, no backend).
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("wrk not found (hack/install-debs.sh wrk)")
	}
	if o.Self == "" {
		if o.Self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "gatescale-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	res := &Result{Started: time.Now().UTC(), Options: o, CPUs: usableCPUs()}
	res.LoadStart = loadAvg()
	res.WrkVersion = wrkVersion(wrk)
	res.TargetCPUs, res.GenCPUs = res.CPUs, res.CPUs
	if _, err := exec.LookPath("taskset"); err == nil && len(res.CPUs) >= 2 {
		// The generator gets the last core, the system under test (target
		// and backend) the others: they never compete with each other.
		res.Pinned = true
		res.GenCPUs = res.CPUs[len(res.CPUs)-1:]
		res.TargetCPUs = res.CPUs[:len(res.CPUs)-1]
	}
	secretBytes := make([]byte, 32)
	_, _ = rand.Read(secretBytes)
	e := &env{self: o.Self, dir: dir, peers: o.PeersDir, procs: len(res.TargetCPUs), secret: hex.EncodeToString(secretBytes), profile: o.ProfileDir}
	headers := map[string]string{"Authorization": "Bearer " + FullChainToken(e.secret)}

	backendAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e.backend = backendAddr
	backend, err := start(ctx, roleCmd(e, "backend", envListen+"="+backendAddr), res, backendAddr, nil, dir, "backend")
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	defer backend.stop()
	e.backendProc = backend

	all := map[string]Target{}
	for _, t := range Targets() {
		all[t.Name] = t
	}
	for _, name := range o.Targets {
		t, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("unknown target %q", name)
		}
		tr := &TargetResult{Target: t}
		if t.command != nil {
			if _, why := t.command(e, "127.0.0.1:1"); why != "" {
				tr.Missing = why
			}
		}
		res.Targets = append(res.Targets, tr)
	}

	// Closed loop: rounds alternate direction (A B C, C B A, ...) so a
	// trend in the machine's load falls on every target alike.
	for round := range o.Rounds {
		order := slices.Clone(res.Targets)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, tr := range order {
			if tr.Missing != "" {
				continue
			}
			for _, conns := range o.Conns {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				m := measure(ctx, e, res, tr.Target, wrk, conns, headers)
				m.Round = round
				tr.Runs = append(tr.Runs, m)
				fmt.Fprintf(o.Log, "round %d %-18s c=%-4d %9.0f req/s  p50 %6.0fµs p99 %6.0fµs p99.9 %6.0fµs  rss %4.0f MB  load %.2f %s\n",
					round+1, tr.Name, conns, m.RPS, m.P50, m.P99, m.P999, float64(m.RSS)/1e6, m.Load1, m.Err)
			}
		}
	}

	// Fixed rate: LoadFraction of direct's median maximum.
	if o.LatencyDuration > 0 {
		for _, tr := range res.Targets {
			if tr.Name == "direct" {
				res.FixedRate = o.LoadFraction * medianOf(tr.Runs, func(m Measurement) float64 { return m.RPS })
			}
		}
		phase := func(label string, rate float64, runs func(*TargetResult) *[]openLoopResult) {
			for round := 0; rate > 0 && round < o.LatencyRounds; round++ {
				order := slices.Clone(res.Targets)
				if round%2 == 1 {
					slices.Reverse(order)
				}
				for _, tr := range order {
					if tr.Missing != "" || ctx.Err() != nil {
						continue
					}
					lr, err := fixedRate(ctx, e, res, tr.Target, headers, rate)
					if err != nil {
						tr.LatError = err.Error()
						fmt.Fprintf(o.Log, "%s %d %-18s %s\n", label, round+1, tr.Name, tr.LatError)
						continue
					}
					*runs(tr) = append(*runs(tr), *lr)
					fmt.Fprintf(o.Log, "%s %d %-18s %7.0f/s offered %7.0f/s achieved  p50 %6.0fµs p99 %6.0fµs p99.9 %6.0fµs errors %d late %d\n",
						label, round+1, tr.Name, lr.Offered, lr.Achieved, lr.P50, lr.P99, lr.P999, lr.Errors, lr.Late)
				}
			}
		}
		phase("fixed", res.FixedRate, func(tr *TargetResult) *[]openLoopResult { return &tr.LatencyRuns })
		// A second rate every target can serve: LoadFraction of the slowest
		// target's maximum, so that added latencies compare like for like.
		for _, tr := range res.Targets {
			if v := medianOf(tr.Runs, func(m Measurement) float64 { return m.RPS }); v > 0 && (res.CommonRate == 0 || o.LoadFraction*v < res.CommonRate) {
				res.CommonRate = o.LoadFraction * v
			}
		}
		if res.CommonRate > 0 && res.CommonRate < 0.95*res.FixedRate {
			phase("common", res.CommonRate, func(tr *TargetResult) *[]openLoopResult { return &tr.CommonRuns })
		} else {
			res.CommonRate = 0
		}
		for _, tr := range res.Targets {
			tr.Latency = medianLatency(tr.LatencyRuns)
			tr.Common = medianLatency(tr.CommonRuns)
		}
	}
	if o.Syscalls {
		for _, tr := range res.Targets {
			if tr.Missing != "" || ctx.Err() != nil {
				continue
			}
			s, err := countSyscalls(ctx, e, res, tr.Target, wrk, o.Conns[0], headers)
			if err != nil {
				tr.SyscallsErr = err.Error()
				fmt.Fprintf(o.Log, "syscalls %-18s %s\n", tr.Name, tr.SyscallsErr)
				continue
			}
			tr.Syscalls = s
			fmt.Fprintf(o.Log, "syscalls %-18s %6.2f per request: reads %.2f (empty %.2f) writes %.2f polls %.2f futex %.2f; switches %.2f\n",
				tr.Name, s.Total, s.Reads, s.EmptyReads, s.Writes, s.Polls, s.Futex, s.Switches)
		}
	}
	res.LoadEnd = loadAvg()
	return res, nil
}

// startTarget starts t (nil process for direct) and returns the address to
// load.
func startTarget(ctx context.Context, e *env, res *Result, t Target, headers map[string]string) (*proc, string, error) {
	if t.command == nil {
		return nil, e.backend, nil
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd, why := t.command(e, addr)
	if cmd == nil {
		return nil, "", errors.New(why)
	}
	p, err := start(ctx, cmd, res, addr, headers, e.dir, t.Name)
	return p, addr, err
}

func measure(ctx context.Context, e *env, res *Result, t Target, wrk string, conns int, headers map[string]string) Measurement {
	m := Measurement{Conns: conns}
	p, addr, err := startTarget(ctx, e, res, t, headers)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	if p != nil {
		defer p.stop()
	}
	args, err := wrkArgs(e, res, conns, headers)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	url := "http://" + addr + requestPath
	// Warm up: connections, pools, the JIT-free but lazily built parts.
	if res.Options.Warmup > 0 {
		_, _ = runPinned(ctx, res, res.GenCPUs, wrk, append(slices.Clone(args), "-d"+durArg(res.Options.Warmup), url)...)
	}
	if p == nil {
		p = e.backendProc // direct: the backend is the target
	}
	p.resetPeak()
	pids, backendPIDs := p.groupPIDs(), e.backendProc.groupPIDs()
	cpu0, backend0 := cpuTime(pids), cpuTime(backendPIDs)
	out, err := runPinned(ctx, res, res.GenCPUs, wrk, append(slices.Clone(args), "-d"+durArg(res.Options.Duration), url)...)
	m.CPU, m.BackendCPU = cpuTime(pids)-cpu0, cpuTime(backendPIDs)-backend0
	m.Load1 = loadAvg()[0]
	m.RSS = p.peakRSS()
	if err != nil {
		m.Err = fmt.Sprintf("wrk: %v: %s", err, lastLine(out))
		return m
	}
	if err := parseWrk(out, &m); err != nil {
		m.Err = err.Error()
	}
	return m
}

// wrkArgs are wrk's arguments but the duration and the URL: one thread
// per generator core, conns connections, the report script, headers.
func wrkArgs(e *env, res *Result, conns int, headers map[string]string) ([]string, error) {
	script := filepath.Join(e.dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	threads := max(1, len(res.GenCPUs))
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "--timeout", "5s", "-s", script}
	for k, v := range headers {
		args = append(args, "-H", k+": "+v)
	}
	return args, nil
}

func fixedRate(ctx context.Context, e *env, res *Result, t Target, headers map[string]string, rate float64) (*openLoopResult, error) {
	p, addr, err := startTarget(ctx, e, res, t, headers)
	if err != nil {
		return nil, err
	}
	if p != nil {
		defer p.stop()
	}
	conns := 64
	if len(res.Options.Conns) > 0 {
		conns = res.Options.Conns[0]
	}
	run := func(d time.Duration, rate float64) (*openLoopResult, error) {
		spec, _ := json.Marshal(openLoopParams{Addr: addr, Path: requestPath, Headers: headers, Rate: rate, Duration: d, Conns: conns})
		cmd := roleCmd(e, "openloop", envOpenLoop+"="+string(spec), "GOMAXPROCS="+strconv.Itoa(len(res.GenCPUs)))
		out, err := runCmdPinned(ctx, res, res.GenCPUs, cmd)
		if err != nil {
			return nil, fmt.Errorf("open loop: %v: %s", err, lastLine(out))
		}
		var r openLoopResult
		if err := json.Unmarshal(out, &r); err != nil {
			return nil, fmt.Errorf("open loop output: %v: %s", err, lastLine(out))
		}
		return &r, nil
	}
	// A short warm-up at the same rate, then the measured run.
	if res.Options.Warmup > 0 {
		if _, err := run(res.Options.Warmup, rate); err != nil {
			return nil, err
		}
	}
	return run(res.Options.LatencyDuration, rate)
}

// medianLatency is the metric-by-metric median of fixed-rate runs (nil for
// none); errors and late requests are summed.
func medianLatency(runs []openLoopResult) *openLoopResult {
	if len(runs) == 0 {
		return nil
	}
	pick := func(f func(openLoopResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	out := openLoopResult{
		Offered:  runs[0].Offered,
		Achieved: pick(func(r openLoopResult) float64 { return r.Achieved }),
		P50:      pick(func(r openLoopResult) float64 { return r.P50 }),
		P99:      pick(func(r openLoopResult) float64 { return r.P99 }),
		P999:     pick(func(r openLoopResult) float64 { return r.P999 }),
		Max:      pick(func(r openLoopResult) float64 { return r.Max }),
	}
	for _, r := range runs {
		out.Sent += r.Sent
		out.Errors += r.Errors
		out.Late += r.Late
	}
	return &out
}

// wrkScript prints wrk's summary with the percentiles wrk's own report
// leaves out (p99.9), in microseconds, on one line.
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GSBENCH %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`

func parseWrk(out []byte, m *Measurement) error {
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) != 8 || f[0] != "GSBENCH" {
			continue
		}
		var v [7]float64
		for i := range v {
			x, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return fmt.Errorf("wrk summary %q: %v", line, err)
			}
			v[i] = x
		}
		m.Requests = int64(v[0])
		if v[1] > 0 {
			m.RPS = v[0] / (v[1] / 1e6)
		}
		m.P50, m.P99, m.P999 = v[2], v[3], v[4]
		m.Errors = int(v[5] + v[6])
		return nil
	}
	return fmt.Errorf("no summary in wrk output: %s", lastLine(out))
}

func durArg(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

func pinned(res *Result, cpus []int, name string, args ...string) *exec.Cmd {
	if !res.Pinned {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpuList(cpus), name}, args...)...)
}

func runPinned(ctx context.Context, res *Result, cpus []int, name string, args ...string) ([]byte, error) {
	return runCmdPinned(ctx, res, cpus, exec.Command(name, args...))
}

// runCmdPinned runs cmd on cpus and returns its standard output (its
// standard error is appended when it fails).
func runCmdPinned(ctx context.Context, res *Result, cpus []int, cmd *exec.Cmd) ([]byte, error) {
	c := pinned(res, cpus, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return append(stdout.Bytes(), stderr.Bytes()...), err
		}
		return stdout.Bytes(), nil
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		return stdout.Bytes(), ctx.Err()
	}
}

// proc is a started target: its own process group, so that nginx's
// workers are stopped (and counted) with their master.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func start(ctx context.Context, cmd *exec.Cmd, res *Result, addr string, headers map[string]string, dir, name string) (*proc, error) {
	c := pinned(res, res.TargetCPUs, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{cmd: c, done: make(chan struct{}), log: logPath}
	go func() { _ = c.Wait(); logf.Close(); close(p.done) }()
	if err := waitReady(ctx, p, addr, headers); err != nil {
		p.stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s did not become ready: %v: %s", name, err, lastLine(b))
	}
	return p, nil
}

// waitReady waits until addr answers a request through the target with
// 200 (the route, the backend and, for the full chain, the token work).
func waitReady(ctx context.Context, p *proc, addr string, headers map[string]string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return errors.New("exited")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+requestPath, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

func (p *proc) stop() {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
}

// groupPIDs lists the processes of p's process group (taskset execs the
// target, so the group leader is the target itself).
func (p *proc) groupPIDs() []int {
	pgid := p.cmd.Process.Pid
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		// Fields state ppid pgrp ...
		if f := procStat(ent.Name()); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat returns the fields of /proc/PID/stat after the parenthesised
// command (which may hold spaces): f[0] is field 3, the state, so field N
// is f[N-3]. nil when the process is gone.
func procStat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// peakRSS sums VmHWM (peak resident set) over the target's processes.
func (p *proc) peakRSS() int64 {
	var total int64
	for _, pid := range p.groupPIDs() {
		total += statusKB("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM:") * 1024
	}
	return total
}

// resetPeak resets VmHWM to the current RSS (writing 5 to clear_refs), so
// the peak is that of the measured run, not of start-up.
func (p *proc) resetPeak() {
	for _, pid := range p.groupPIDs() {
		_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
	}
}

func statusKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func usableCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		var cpus []int
		for i := range 1024 {
			if set.IsSet(i) {
				cpus = append(cpus, i)
			}
		}
		if len(cpus) > 0 {
			return cpus
		}
	}
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

func wrkVersion(wrk string) string {
	out, _ := exec.Command(wrk, "-v").CombinedOutput()
	s := strings.TrimSpace(string(out))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
