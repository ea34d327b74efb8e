package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What a request costs the machine, besides the time it takes: the CPU
// time of the target's processes per request (from /proc, in every run,
// free of overhead) and, with Options.Syscalls, the system calls per
// request by kind (one extra run per target under `perf stat`). The
// second says why two targets of equal work differ in CPU: nginx reads a
// socket only after epoll said it is readable; Go's netpoller reads first
// and waits on EAGAIN, so a Go proxy makes reads that find nothing.

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture Go supports (the kernel converts to it).
const userHZ = 100

// cpuTime is the user + system CPU time the processes have used so far
// (all their threads, exited ones included).
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		// utime (field 14) and stime (15).
		f := procStat(strconv.Itoa(pid))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// Syscalls is what one target made per request in the Options.Syscalls
// run, counted by perf stat on the target's processes.
type Syscalls struct {
	Requests int64 // answered by the target during the counted run
	// Per request:
	Total      float64 // every system call
	Reads      float64 // read, readv, recvfrom, recvmsg
	EmptyReads float64 // of those, the ones that returned EAGAIN
	Writes     float64 // write, writev, sendto, sendmsg
	Polls      float64 // epoll_wait/pwait/pwait2, epoll_ctl, poll, select
	Futex      float64
	Switches   float64 // context switches of the target's threads
	CPU        float64 // task-clock, µs (inflated by the tracing itself)
}

var (
	readCalls  = []string{"read", "readv", "recvfrom", "recvmsg"}
	writeCalls = []string{"write", "writev", "sendto", "sendmsg"}
	pollCalls  = []string{"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "poll", "ppoll", "select", "pselect6"}
)

// tracefsEvents is where the kernel lists its syscall tracepoints.
var tracefsEvents = []string{"/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"}

// perfEvents returns perf stat's -e/--filter arguments for the tracepoints
// this kernel has.
func perfEvents() ([]string, error) {
	var dir string
	for _, d := range tracefsEvents {
		if _, err := os.Stat(filepath.Join(d, "sys_enter_read")); err == nil {
			dir = d
			break
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("no syscall tracepoints in %s (tracefs not mounted or not readable)", strings.Join(tracefsEvents, " or "))
	}
	has := func(tp string) bool {
		_, err := os.Stat(filepath.Join(dir, tp))
		return err == nil
	}
	args := []string{"-e", "raw_syscalls:sys_enter", "-e", "context-switches", "-e", "task-clock"}
	for _, group := range [][]string{readCalls, writeCalls, pollCalls, {"futex"}} {
		for _, c := range group {
			if has("sys_enter_" + c) {
				args = append(args, "-e", "syscalls:sys_enter_"+c)
			}
		}
	}
	// A read that found nothing returns -EAGAIN; the exit tracepoint with
	// a filter counts exactly those.
	for _, c := range readCalls {
		if has("sys_exit_" + c) {
			args = append(args, "-e", "syscalls:sys_exit_"+c, "--filter", "ret == -"+strconv.Itoa(int(syscall.EAGAIN)))
		}
	}
	return args, nil
}

// parsePerfStat reads perf stat's CSV output (-x,) into counts by event
// name; "<not counted>" and comment lines are left out.
func parsePerfStat(out []byte) (map[string]float64, error) {
	counts := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // <not counted>, <not supported>
		}
		counts[f[2]] += v
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("perf stat printed no counts: %s", lastLine(out))
	}
	return counts, nil
}

// perRequest turns perf's counts over a run into Syscalls.
func perRequest(counts map[string]float64, requests int64) Syscalls {
	s := Syscalls{Requests: requests}
	if requests <= 0 {
		return s
	}
	n := float64(requests)
	sum := func(prefix string, calls []string) float64 {
		var v float64
		for _, c := range calls {
			v += counts["syscalls:"+prefix+c]
		}
		return v / n
	}
	s.Total = counts["raw_syscalls:sys_enter"] / n
	s.Reads = sum("sys_enter_", readCalls)
	s.EmptyReads = sum("sys_exit_", readCalls)
	s.Writes = sum("sys_enter_", writeCalls)
	s.Polls = sum("sys_enter_", pollCalls)
	s.Futex = sum("sys_enter_", []string{"futex"})
	s.Switches = counts["context-switches"] / n
	s.CPU = counts["task-clock"] * 1000 / n // task-clock is in ms
	return s
}

// countSyscalls runs t once more with wrk while perf stat counts the
// target's system calls (the backend's for direct).
func countSyscalls(ctx context.Context, e *env, res *Result, t Target, wrk string, conns int, headers map[string]string) (*Syscalls, error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return nil, errors.New("perf not found (Debian: linux-perf)")
	}
	events, err := perfEvents()
	if err != nil {
		return nil, err
	}
	p, addr, err := startTarget(ctx, e, res, t, headers)
	if err != nil {
		return nil, err
	}
	if p != nil {
		defer p.stop()
	} else {
		p = e.backendProc
	}
	args, err := wrkArgs(e, res, conns, headers)
	if err != nil {
		return nil, err
	}
	url := "http://" + addr + requestPath
	if res.Options.Warmup > 0 {
		_, _ = runPinned(ctx, res, res.GenCPUs, wrk, append(slices.Clone(args), "-d"+durArg(res.Options.Warmup), url)...)
	}
	var pids []string
	for _, pid := range p.groupPIDs() {
		pids = append(pids, strconv.Itoa(pid))
	}
	outFile := filepath.Join(e.dir, "perf-"+t.Name+".csv")
	// perf runs on the generator's core: its own work must not be charged
	// to the core under test.
	pc := pinned(res, res.GenCPUs, perf, append(append([]string{"stat", "-x,", "-o", outFile}, events...), "-p", strings.Join(pids, ","))...)
	var perfErr bytes.Buffer
	pc.Stderr = &perfErr
	if err := pc.Start(); err != nil {
		return nil, fmt.Errorf("perf: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- pc.Wait() }()
	// perf attaches in a few milliseconds; an idle target makes next to no
	// calls meanwhile, so the counts are those of the run.
	select {
	case err := <-exited:
		return nil, fmt.Errorf("perf stat exited at once: %v: %s", err, lastLine(perfErr.Bytes()))
	case <-time.After(300 * time.Millisecond):
	}
	out, werr := runPinned(ctx, res, res.GenCPUs, wrk, append(slices.Clone(args), "-d"+durArg(res.Options.Duration), url)...)
	_ = pc.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = pc.Process.Kill()
		<-exited
	}
	if werr != nil {
		return nil, fmt.Errorf("wrk: %v: %s", werr, lastLine(out))
	}
	var m Measurement
	if err := parseWrk(out, &m); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		return nil, fmt.Errorf("perf stat wrote nothing: %v: %s", err, lastLine(perfErr.Bytes()))
	}
	counts, err := parsePerfStat(b)
	if err != nil {
		return nil, err
	}
	s := perRequest(counts, m.Requests)
	return &s, nil
}
