package harden_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/harden"
)

func TestMaxHeaderCount(t *testing.T) {
	h := harden.MaxHeaderCount(5)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, c := range []struct {
		headers int
		want    int
	}{{5, 200}, {6, 431}} {
		r := httptest.NewRequest("GET", "/", nil)
		for i := range c.headers {
			r.Header.Add("X-H", fmt.Sprint(i)) // repeated values count one each
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("%d headers: %d, want %d", c.headers, rec.Code, c.want)
		}
	}
}

// TestSlowHeadersCut checks the server settings harden documents: a client
// that sends its headers slowly is disconnected after ReadHeaderTimeout.
func TestSlowHeadersCut(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ReadHeaderTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	if err == nil && resp.StatusCode < 400 || time.Since(start) > 3*time.Second {
		t.Fatalf("slow client served or not cut in time: %v after %v", err, time.Since(start))
	}
}
