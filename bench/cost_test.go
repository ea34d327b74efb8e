package bench

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testdata/perf-stat.csv is real output of `perf stat -x, -o FILE -e …
// -e syscalls:sys_exit_read --filter 'ret == -11' -- python3 …` for a
// program that reads an empty non-blocking pipe three times, then writes
// one byte to it and reads it back.
func TestParsePerfStat(t *testing.T) {
	b, err := os.ReadFile("testdata/perf-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	// perf prints "<not counted>" for an event that never ran; it must be
	// left out, not read as 0 or as an error.
	b = append(b, "<not counted>,,syscalls:sys_enter_recvmsg,0,0.00,,\n"...)
	counts, err := parsePerfStat(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"raw_syscalls:sys_enter":         9213,
		"context-switches":               86,
		"task-clock":                     118.18,
		"syscalls:sys_enter_read":        382,
		"syscalls:sys_enter_write":       30,
		"syscalls:sys_enter_epoll_pwait": 0,
		"syscalls:sys_enter_futex":       39,
		"syscalls:sys_exit_read":         3, // the three empty reads
	}
	if len(counts) != len(want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	for k, v := range want {
		if got, ok := counts[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	s := perRequest(counts, 3)
	if s.EmptyReads != 1 || s.Reads != 382.0/3 || s.Writes != 10 || s.Futex != 13 || s.Total != 3071 {
		t.Errorf("per request %+v", s)
	}
	if d := s.CPU - 118.18*1000/3; d > 1e-6 || d < -1e-6 {
		t.Errorf("CPU per request %v µs, want %v", s.CPU, 118.18*1000/3)
	}
	if _, err := parsePerfStat([]byte("# started on …\n\n")); err == nil {
		t.Error("output without counts: no error")
	}
}

// TestCPUTime: the CPU time read from /proc grows with work the process
// does, by about as much as it did (100 Hz ticks: 10 ms resolution).
func TestCPUTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc:", err)
	}
	// The shell counts, says so, then waits on its standard input: it is
	// still there to be read, with the work done.
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo counted; read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "counted\n" {
		t.Fatalf("shell said %q, %v", line, err)
	}
	if busy := cpuTime([]int{cmd.Process.Pid}); busy < 20*time.Millisecond {
		t.Fatalf("a shell counting to 300,000 used %v of CPU by /proc", busy)
	}
	if got := cpuTime([]int{1 << 30}); got != 0 {
		t.Errorf("a process that does not exist used %v", got)
	}
	if !strings.Contains(cpuPerRequest(false, []Measurement{{RPS: 1, Requests: 1000, CPU: 50 * time.Millisecond, BackendCPU: 20 * time.Millisecond}}), "50.0 + 20.0 µs") {
		t.Errorf("cpuPerRequest: %s", cpuPerRequest(false, []Measurement{{RPS: 1, Requests: 1000, CPU: 50 * time.Millisecond, BackendCPU: 20 * time.Millisecond}}))
	}
}
