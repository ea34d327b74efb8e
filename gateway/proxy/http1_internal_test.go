package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTP1ForgetsGonePools: the pool of an address that gets no more
// requests is dropped once its connections are closed, so that instances
// replaced at every rollout do not each leave one behind.
func TestHTTP1ForgetsGonePools(t *testing.T) {
	var srvs []*httptest.Server
	for range 3 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	fallback := NewTransport()
	fallback.IdleConnTimeout = 20 * time.Millisecond
	tr := NewHTTP1Transport(fallback)
	t.Cleanup(tr.CloseIdleConnections)
	for _, srv := range srvs {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	pools := func() int {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.pools)
	}
	if n := pools(); n != 3 {
		t.Fatalf("%d pools after requests to 3 addresses", n)
	}
	for deadline := time.Now().Add(10 * time.Second); pools() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d pools still kept 10 s after their last request, with an idle timeout of 20 ms", pools())
		}
	}
	// An address used again gets a new pool that works.
	req, _ := http.NewRequest("GET", srvs[0].URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("answer %q", b)
	}
}

// TestHTTP1UnsolicitedAnswer: an upstream that writes a whole answer onto
// an idle connection (a broken one: a body longer than its Content-Length
// sent late, a response written twice) does not have that answer taken as
// the next request's — which would hand one client's GET an answer meant
// for nobody, or for another client. http.Transport sees such bytes with
// the read it keeps pending and drops the connection; this transport peeks
// before it reuses one.
func TestHTTP1UnsolicitedAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var conns atomic.Int64
	unasked := make(chan struct{}) // closed once the first answer was read
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					body := fmt.Sprintf("conn %d answer %d", n, i)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
					if n == 1 && i == 0 {
						<-unasked
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nunasked")
					}
				}
			}()
		}
	}()
	tr := NewHTTP1Transport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	url := "http://" + ln.Addr().String() + "/"
	roundTrip := func() string {
		req, _ := http.NewRequest("GET", url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := roundTrip(); got != "conn 1 answer 0" {
		t.Fatalf("first GET: %q", got)
	}
	close(unasked)
	// Wait until the unasked answer sits on the pooled connection.
	p := tr.pool(ln.Addr().String())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		var c *h1conn
		if len(p.idle) == 1 {
			c = p.idle[0]
		}
		p.mu.Unlock()
		if c == nil {
			t.Fatal("the first connection is not in the pool")
		}
		if !socketOpen(c.conn) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unasked answer did not arrive in 10 s")
		}
	}
	if got := roundTrip(); got != "conn 2 answer 0" {
		t.Fatalf("second GET got %q, want the answer of a new connection (conn 2 answer 0)", got)
	}
}
