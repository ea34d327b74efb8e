package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// consulAgent is a `consul agent -dev` on free loopback ports.
type consulAgent struct {
	cmd  *exec.Cmd
	addr string
}

// findConsul looks on PATH, then in the repo's .cache/bin (where
// hack/build-consul.sh puts it) from the working directory upwards.
func findConsul() (string, error) {
	if p, err := exec.LookPath("consul"); err == nil {
		return p, nil
	}
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		p := filepath.Join(d, ".cache", "bin", "consul")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("consul binary not found: run hack/build-consul.sh (make demo-consul does)")
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startConsul starts a dev agent and waits until it has a leader.
func startConsul(ctx context.Context, log io.Writer) (*consulAgent, error) {
	bin, err := findConsul()
	if err != nil {
		return nil, err
	}
	p, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "agent", "-dev", "-client", "127.0.0.1", "-bind", "127.0.0.1",
		"-http-port", strconv.Itoa(p[0]), "-serf-lan-port", strconv.Itoa(p[1]), "-serf-wan-port", strconv.Itoa(p[2]),
		"-server-port", strconv.Itoa(p[3]), "-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stopped by us, not by a terminal's signals
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &consulAgent{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(p[0])}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + a.addr + "/v1/status/leader")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && len(b) > 4 { // `""` until elected
				return a, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			a.stop()
			return nil, fmt.Errorf("consul agent did not elect a leader in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *consulAgent) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
}
