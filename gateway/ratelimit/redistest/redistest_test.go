package redistest_test

import (
	"net"
	"testing"

	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
)

func TestStartStopRestart(t *testing.T) {
	s := redistest.Start(t)
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr %q is not on loopback", s.Addr)
	}
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Stop()
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatal("still accepting after Stop")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	c, err = net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
