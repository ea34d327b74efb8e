package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/proxy"
)

// answerServer answers every request with the bytes set last, then closes
// the connection: one listener for all of a fuzz target's inputs.
type answerServer struct {
	addr string
	mu   sync.Mutex
	data []byte
}

func newAnswerServer(f *testing.F) *answerServer {
	s := &answerServer{}
	s.addr = rawServer(f, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		s.mu.Lock()
		data := s.data
		s.mu.Unlock()
		c.Write(data)
	})
	return s
}

func (s *answerServer) set(b []byte) {
	s.mu.Lock()
	s.data = b
	s.mu.Unlock()
}

type fuzzAnswer struct {
	status  int
	body    string
	err     error
	bodyErr error
}

func fetchWith(rt http.RoundTripper, url string) fuzzAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fuzzAnswer{err: err}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return fuzzAnswer{status: resp.StatusCode, body: string(b), bodyErr: err}
}

// FuzzHTTP1Answer: whatever an upstream writes back, HTTP1Transport
// returns an error or an answer whose body ends (the connection is closed
// after the bytes), and where both it and http.Transport read a whole
// answer from the same bytes, it is the same answer: HTTP1Transport's
// framing around net/http's parser (interim answers, bytes after the
// answer, header limits) must not change what a client gets.
func FuzzHTTP1Answer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nread to the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		"HTTP/1.1 999 Odd\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	srv := newAnswerServer(f)
	h1 := proxy.NewHTTP1Transport(nil)
	f.Cleanup(h1.CloseIdleConnections)
	std := &http.Transport{DisableKeepAlives: true, DisableCompression: true}
	f.Cleanup(std.CloseIdleConnections)
	url := "http://" + srv.addr + "/"
	f.Fuzz(func(t *testing.T, data []byte) {
		srv.set(data)
		ours := fetchWith(h1, url)
		// The upstream closed the connection after its bytes: waiting
		// until the deadline means the end of the stream went unnoticed.
		if errors.Is(ours.err, context.DeadlineExceeded) || errors.Is(ours.bodyErr, context.DeadlineExceeded) {
			t.Fatalf("from %q: HTTP1Transport waited for the deadline on a closed connection", data)
		}
		theirs := fetchWith(std, url)
		if ours.err != nil || ours.bodyErr != nil || theirs.err != nil || theirs.bodyErr != nil {
			return // refusing what the other reads is a policy; both are errors a client sees as 502
		}
		if ours.status != theirs.status || ours.body != theirs.body {
			t.Fatalf("from %q:\nHTTP1Transport: %d %q\nhttp.Transport: %d %q", data, ours.status, ours.body, theirs.status, theirs.body)
		}
	})
}
