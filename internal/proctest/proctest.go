package proctest

import (
	"bufio"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"os/exec"
)

// Process is a running gatescale command.
type Process struct {
	Cmd *exec.Cmd
	// Addr and AdminAddr are the listeners' host:port.
	Addr, AdminAddr string

	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

// Log returns what the process has logged so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

var textRE = regexp.MustCompile(`msg="(gateway|admin) listening" addr=(\S+)`)

// listener returns which listener a log line announces, and its address.
func listener(line string) (which, addr string) {
	if m := textRE.FindStringSubmatch(line); m != nil {
		return m[1], m[2]
	}
	var rec struct{ Msg, Addr string }
	if json.Unmarshal([]byte(line), &rec) == nil {
		switch rec.Msg {
		case "gateway listening":
			return "gateway", rec.Addr
		case "admin listening":
			return "admin", rec.Addr
		}
	}
	return "", ""
}

// Start starts cmd (a `gatescale run` command, its stderr not yet set) and
// waits until both listeners are announced. The process is stopped when
// the test ends.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan [2]string, 2)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if which, addr := listener(line); which != "" {
				addrs <- [2]string{which, addr}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { p.Stop(t) })
	deadline := time.After(60 * time.Second)
	for p.Addr == "" || p.AdminAddr == "" {
		select {
		case a := <-addrs:
			if a[0] == "gateway" {
				p.Addr = a[1]
			} else {
				p.AdminAddr = a[1]
			}
		case <-p.done:
			t.Fatalf("gatescale exited at start:\n%s", p.Log())
		case <-deadline:
			t.Fatalf("gatescale did not start listening within 60 s:\n%s", p.Log())
		}
	}
	return p
}

// Stop sends SIGTERM and waits for the process to drain and exit (killing
// it after 30 s, which fails the test).
func (p *Process) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
		t.Errorf("gatescale did not stop on SIGTERM:\n%s", p.Log())
	}
}
