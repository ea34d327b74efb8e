package tcprelay_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestCutWhileDialing: a connection the relay accepted just before Cut or
// Refuse, and was still connecting to the server for, is dropped with the
// others; it used to be relayed afterwards, left out of the drop. The
// server's accept queue is kept full so that the relay's connection to it
// hangs (the kernel drops its SYN) until the test has cut the relay and
// then empties the queue.
func TestCutWhileDialing(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(*tcprelay.Relay)
	}{
		{"cut", (*tcprelay.Relay).Cut},
		{"refuse", (*tcprelay.Relay).Refuse},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln := listenWithoutQueue(t)
			defer ln.Close()
			filler, err := net.Dial("tcp", ln.Addr().String()) // the queue's only place
			if err != nil {
				t.Fatal(err)
			}
			defer filler.Close()
			r := tcprelay.Start(t, ln.Addr().String())
			client, err := net.Dial("tcp", r.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			waitForSYNSent(t, ln.Addr().(*net.TCPAddr).Port)

			c.cut(r)
			// Empty the queue, then echo whatever the relay connects.
			a, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			go func() {
				s, err := ln.Accept()
				if err != nil {
					return
				}
				defer s.Close()
				_, _ = io.Copy(s, s)
			}()
			if _, err := client.Write([]byte("ping\n")); err != nil {
				return // dropped already
			}
			line, err := bufio.NewReader(client).ReadString('\n')
			if err == nil {
				t.Errorf("after %s, the connection accepted before it was relayed to the server (echoed %q)", c.name, line)
			}
		})
	}
}

// listenWithoutQueue listens on a free loopback port with a backlog of 0:
// Linux queues one connection, and drops the SYNs of the next ones.
func listenWithoutQueue(t *testing.T) net.Listener {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitForSYNSent waits until a connection to port is in SYN_SENT (state 02
// in /proc/net/tcp): the relay is connecting to the server.
func waitForSYNSent(t *testing.T, port int) {
	t.Helper()
	want := fmt.Sprintf(":%04X", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Skipf("no /proc/net/tcp: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "02" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay never connected to the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
