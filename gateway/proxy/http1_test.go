package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/proxy"
)

// connCounter counts the connections a test server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.n.Add(1)
	}
}

func countedServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.hook
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

func newH1(t *testing.T) *proxy.HTTP1Transport {
	t.Helper()
	tr := proxy.NewHTTP1Transport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func get(t *testing.T, tr http.RoundTripper, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(b)
}

// TestHTTP1KeepAlive: sequential requests share one connection; what the
// upstream sees is the request as sent (method, path, query, headers, Host,
// body with its length); it adds no User-Agent of its own.
func TestHTTP1KeepAlive(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	srv, cc := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s host=%s ua=%q x=%q cl=%d te=%v body=%q",
			r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("User-Agent"), r.Header.Values("X-Multi"), r.ContentLength, r.TransferEncoding, b))
		mu.Unlock()
		w.Header().Set("X-Answer", "yes")
		io.WriteString(w, "ok "+r.Method)
	})
	tr := newH1(t)
	for i := range 5 {
		req, _ := http.NewRequest("GET", srv.URL+"/a%2Fb/c?q=1&r=two", nil)
		req.Header["User-Agent"] = []string{""}
		req.Header["X-Multi"] = []string{"1", "2"}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok GET" || resp.Header.Get("X-Answer") != "yes" || resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, b, resp.Header)
		}
	}
	resp, body := get(t, tr, "POST", srv.URL+"/post", strings.NewReader("payload"))
	if body != "ok POST" || resp.StatusCode != 200 {
		t.Fatalf("POST: %q", body)
	}
	get(t, tr, "POST", srv.URL+"/empty", nil)
	if n := cc.n.Load(); n != 1 {
		t.Fatalf("%d connections for 7 sequential requests, want 1", n)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := []string{
		fmt.Sprintf(`GET /a%%2Fb/c?q=1&r=two host=%s ua="" x=["1" "2"] cl=0 te=[] body=""`, host),
		fmt.Sprintf(`POST /post host=%s ua="" x=[] cl=7 te=[] body="payload"`, host),
		fmt.Sprintf(`POST /empty host=%s ua="" x=[] cl=0 te=[] body=""`, host),
	}
	mu.Lock()
	defer mu.Unlock()
	got := []string{seen[0], seen[5], seen[6]}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("upstream saw\n %s\nwant\n %s", got[i], want[i])
		}
	}
}

// TestHTTP1Framing: chunked answers with trailers, answers delimited by the
// connection's close, HEAD, 204 and informational answers all arrive whole,
// and a connection is reused only when its answer ended cleanly.
func TestHTTP1Framing(t *testing.T) {
	srv, cc := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Sum", "42")
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "closing")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		default:
			io.WriteString(w, "plain")
		}
	})
	tr := newH1(t)
	resp, body := get(t, tr, "GET", srv.URL+"/chunked", nil)
	if body != "part1,part2" || resp.Trailer.Get("X-Sum") != "42" || resp.ContentLength != -1 {
		t.Fatalf("chunked: %q trailer %v length %d", body, resp.Trailer, resp.ContentLength)
	}
	resp, body = get(t, tr, "HEAD", srv.URL+"/plain", nil)
	if body != "" || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, tr, "GET", srv.URL+"/nocontent", nil)
	if body != "" || resp.StatusCode != 204 {
		t.Fatalf("204: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, tr, "GET", srv.URL+"/hints", nil)
	if body != "after hints" || resp.StatusCode != 200 {
		t.Fatalf("103 then 200: %d %q", resp.StatusCode, body)
	}
	if n := cc.n.Load(); n != 1 {
		t.Fatalf("%d connections so far, want 1", n)
	}
	resp, body = get(t, tr, "GET", srv.URL+"/close", nil)
	if body != "closing" || !resp.Close {
		t.Fatalf("close: %q close=%v", body, resp.Close)
	}
	get(t, tr, "GET", srv.URL+"/plain", nil)
	if n := cc.n.Load(); n != 2 {
		t.Fatalf("%d connections after Connection: close, want 2", n)
	}

	// A body closed before its end takes its connection with it: the next
	// answer would otherwise start in the middle of this one.
	req, _ := http.NewRequest("GET", srv.URL+"/chunked", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := get(t, tr, "GET", srv.URL+"/plain", nil); body != "plain" {
		t.Fatalf("after an abandoned body: %q", body)
	}
	if n := cc.n.Load(); n != 3 {
		t.Fatalf("%d connections after an abandoned body, want 3", n)
	}
}

// rawServer serves each connection with serve on a goroutine of its own,
// the connection closed when serve returns: an upstream that says on the
// wire what no net/http server would. Listener and goroutines end with
// the test.
func rawServer(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// staleServer answers each connection's first request and then closes it
// without saying so — an upstream whose keep-alive timeout ended while the
// connection sat in the gateway's pool.
func staleServer(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	addr = rawServer(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// Wait for the next request, then drop the connection
		// unanswered.
		_, _ = br.Peek(1)
	})
	return addr, conns
}

// TestHTTP1StaleConnection: a GET on a pooled connection the upstream
// dropped goes again on a new one; a POST, which the upstream may have
// received, does not (http.Transport's rule), unless it carries an
// idempotency key.
func TestHTTP1StaleConnection(t *testing.T) {
	a, conns := staleServer(t)
	tr := newH1(t)
	for i := range 3 {
		if _, body := get(t, tr, "GET", "http://"+a+"/", nil); body != "ok" {
			t.Fatalf("GET %d: %q", i, body)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 GETs, want 3 (each retried on a new one)", n)
	}
	req, _ := http.NewRequest("POST", "http://"+a+"/", strings.NewReader("once"))
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a POST on a dropped connection succeeded: it was sent twice")
	}
	req, _ = http.NewRequest("POST", "http://"+a+"/", strings.NewReader("twice is fine"))
	req.Header.Set("Idempotency-Key", "k1")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("a POST with an idempotency key: %v", err)
	}
	resp.Body.Close()
}

// TestHTTP1Cancel: cancelling the request's context ends a wait for the
// answer's head at once and leaves nothing in the pool.
func TestHTTP1Cancel(t *testing.T) {
	release := make(chan struct{})
	srv, cc := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "done")
	})
	defer close(release)
	tr := newH1(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("RoundTrip after cancel: %v, want context.Canceled", err)
	}
	if _, body := get(t, tr, "GET", srv.URL+"/fast", nil); body != "done" {
		t.Fatalf("after a cancel: %q", body)
	}
	if n := cc.n.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the cancelled one must not be reused", n)
	}

	// Cancelled while the body is read: the read fails, the body's
	// connection is not pooled.
	srv2, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "head")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", srv2.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("reading a body after its context was cancelled succeeded")
	}
	resp.Body.Close()
}

// TestHTTP1Fallback: what the transport does not send itself — a body of
// unknown length, a large body, an https upstream — goes through the
// http.Transport and arrives whole; a header value that would start a new
// header is refused.
func TestHTTP1Fallback(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %v", len(b), r.TransferEncoding)
	}
	srv, _ := countedServer(t, echo)
	tr := newH1(t)
	req, _ := http.NewRequest("POST", srv.URL, io.NopCloser(strings.NewReader("unknown length")))
	req.ContentLength = -1
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "14 [chunked]" {
		t.Fatalf("chunked upload: %q", b)
	}
	resp.Body.Close()
	big := strings.Repeat("x", 200<<10)
	if _, body := get(t, tr, "PUT", srv.URL, strings.NewReader(big)); body != fmt.Sprint(len(big), " []") {
		t.Fatalf("large upload: %q", body)
	}

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(echo))
	defer tlsSrv.Close()
	fb := proxy.NewTransport()
	fb.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	trTLS := proxy.NewHTTP1Transport(fb)
	defer trTLS.CloseIdleConnections()
	if _, body := get(t, trTLS, "POST", tlsSrv.URL, strings.NewReader("abc")); body != "3 []" {
		t.Fatalf("https: %q", body)
	}

	req, _ = http.NewRequest("GET", srv.URL, nil)
	req.Header["X-Evil"] = []string{"a\r\nX-Injected: 1"}
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "X-Evil") {
		t.Fatalf("a header value with CRLF: %v", err)
	}
}

// TestHTTP1Concurrent: many goroutines at once get their own answers, and
// the pool keeps the connections for the next round.
func TestHTTP1Concurrent(t *testing.T) {
	srv, cc := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("i"))
	})
	tr := newH1(t)
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/?i=%d", srv.URL, i), nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != fmt.Sprint(i) {
					errs <- fmt.Errorf("round %d request %d got %q", round, i, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if n := cc.n.Load(); n > 32 {
		t.Fatalf("%d connections for 3 rounds of 32 concurrent requests, want at most 32", n)
	}
}

// TestServeHeadersTrailersStreams: ServeHTTP (without the reverse proxy
// for a plain request) drops hop-by-hop headers both ways, those a
// Connection header names included, passes a client's "TE: trailers",
// forwards announced and unannounced trailers, flushes a server-sent
// event stream as it comes, and aborts the client's connection when the
// upstream's body breaks off (so the client cannot take a cut answer for a
// whole one).
func TestServeHeadersTrailersStreams(t *testing.T) {
	release := make(chan struct{})
	back, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/headers":
			var seen []string
			for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "X-Kept", "Connection", "Upgrade"} {
				if v := r.Header.Values(k); len(v) > 0 {
					seen = append(seen, k+"="+strings.Join(v, ","))
				}
			}
			w.Header().Set("Connection", "X-Resp-Hop")
			w.Header().Set("X-Resp-Hop", "1")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-Resp-Kept", "1")
			io.WriteString(w, strings.Join(seen, " "))
		case "/trailers":
			w.Header().Set("Trailer", "X-Announced")
			io.WriteString(w, "body")
			w.Header().Set("X-Announced", "a")
			w.Header().Set(http.TrailerPrefix+"X-Late", "b")
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "data: 2\n\n")
		case "/cut":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "only ten b")
			w.(http.Flusher).Flush()
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}
	})
	u := startUpstream(t, []string{addr(back)})
	front := httptest.NewServer(proxy.New(u))
	defer front.Close()

	req, _ := http.NewRequest("GET", front.URL+"/headers", nil)
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "1")
	req.Header.Set("Keep-Alive", "300")
	req.Header.Set("Proxy-Authorization", "Basic eDp5")
	req.Header.Set("Te", "trailers")
	req.Header.Set("X-Kept", "yes")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Te=trailers X-Kept=yes" {
		t.Errorf("upstream saw %q, want only Te=trailers X-Kept=yes", b)
	}
	for _, k := range []string{"X-Resp-Hop", "Keep-Alive"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("client got hop-by-hop %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Resp-Kept") != "1" {
		t.Errorf("client lost X-Resp-Kept: %v", resp.Header)
	}

	resp, err = http.Get(front.URL + "/trailers")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("X-Announced") != "a" || resp.Trailer.Get("X-Late") != "b" {
		t.Errorf("trailers: body %q trailer %v", b, resp.Trailer)
	}

	resp, err = http.Get(front.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len("data: 1\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "data: 1\n\n" {
		t.Fatalf("first event before the stream ends: %q %v", first, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(rest) != "data: 2\n\n" {
		t.Errorf("second event: %q", rest)
	}

	// The connection drops before or after the head (it may still sit in
	// the server's buffer): either way the client sees an error.
	resp, err = http.Get(front.URL + "/cut")
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("a cut upstream body reached the client as a whole answer: %d %q", resp.StatusCode, b)
		}
	}
}

// TestHTTP1UpstreamClosedIdle: an upstream that closes keep-alive
// connections after a short idle time (Node's default is 5 s) must not
// cost a request: a POST, which is never sent twice, finds the pooled
// connection closed before it is written and goes on a new one, as with
// http.Transport, whose read loop sees the close while the connection is
// idle.
func TestHTTP1UpstreamClosedIdle(t *testing.T) {
	var posts, opened, closed atomic.Int64
	hold := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		} else {
			<-hold // keep both GETs in flight: two connections
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, b)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tr := newH1(t)
	for round := range 3 {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", srv.URL, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		for opened.Load()-closed.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		hold <- struct{}{}
		hold <- struct{}{}
		wg.Wait()
		// Both pooled connections are now closed by the upstream.
		srv.CloseClientConnections()
		for deadline := time.Now().Add(10 * time.Second); closed.Load() < opened.Load(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the upstream did not close its connections")
			}
		}
		before := posts.Load()
		_, body := get(t, tr, "POST", srv.URL, strings.NewReader("once"))
		if body != "POST once" {
			t.Fatalf("round %d: POST answered %q", round, body)
		}
		if n := posts.Load() - before; n != 1 {
			t.Fatalf("round %d: the upstream saw the POST %d times", round, n)
		}
	}
}

// TestHTTP1Idle408: some servers send "408 Request Timeout" on a keep-alive
// connection before closing it for idleness. That answer belongs to no
// request: a GET sent on the pooled connection afterwards must get its own
// answer from a new connection, not the 408 (http.Transport drops such a
// connection silently).
func TestHTTP1Idle408(t *testing.T) {
	gone := make(chan struct{}, 16)
	addr := rawServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// The connection's idle timeout ends at once.
		io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		c.Close()
		gone <- struct{}{}
	})
	tr := newH1(t)
	url := "http://" + addr + "/"
	for i := range 3 {
		resp, body := get(t, tr, "GET", url, nil)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("GET %d: %d %q, want the upstream's own answer", i, resp.StatusCode, body)
		}
		<-gone
	}
}

// TestHTTP1IdleTimeoutWithoutTraffic: an idle connection is closed once it
// outlives the idle timeout even when no request goes to its address again
// — an instance scaled in or replaced keeps no connection (and no file
// descriptor) of the gateway's forever, as with http.Transport.
func TestHTTP1IdleTimeoutWithoutTraffic(t *testing.T) {
	var closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Config.IdleTimeout = time.Hour // the gateway's side must close it
	srv.Start()
	t.Cleanup(srv.Close)
	fb := proxy.NewTransport()
	fb.IdleConnTimeout = 50 * time.Millisecond
	tr := proxy.NewHTTP1Transport(fb)
	t.Cleanup(tr.CloseIdleConnections)
	if _, body := get(t, tr, "GET", srv.URL, nil); body != "ok" {
		t.Fatalf("GET: %q", body)
	}
	for deadline := time.Now().Add(10 * time.Second); closed.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection is still open 10 s after its 50 ms idle timeout")
		}
	}
}

// TestHTTP1ResponseHeaderLimit: an upstream's answer head is bounded like
// http.Transport's (MaxResponseHeaderBytes of the fallback, 10 MiB when
// unset), so a broken upstream that sends an endless header line cannot
// grow the gateway's memory without end.
func TestHTTP1ResponseHeaderLimit(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		size := 1 << 20
		if req.URL.Path == "/huge" {
			size = 11 << 20
		}
		bw := bufio.NewWriter(c)
		bw.WriteString("HTTP/1.1 200 OK\r\nX-Big: ")
		bw.WriteString(strings.Repeat("a", size))
		bw.WriteString("\r\nContent-Length: 2\r\n\r\nok")
		bw.Flush()
	})
	fb := proxy.NewTransport()
	fb.MaxResponseHeaderBytes = 64 << 10
	small := proxy.NewHTTP1Transport(fb)
	t.Cleanup(small.CloseIdleConnections)
	req, _ := http.NewRequest("GET", "http://"+addr+"/big", nil)
	if resp, err := small.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Error("a 1 MiB answer head passed a limit of 64 KiB")
	}
	req, _ = http.NewRequest("GET", "http://"+addr+"/huge", nil)
	if resp, err := newH1(t).RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Error("an 11 MiB answer head passed the default limit of 10 MiB")
	}
}

// logRecorder keeps the messages logged at Warn or above.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// TestHTTP1BodyReadAfterCancel: reading an answer's body after the
// request's context was cancelled fails with the context's error, as with
// http.Transport — not with an i/o timeout, which reads as the upstream's
// fault: a client that leaves a stream is no upstream failure to log.
func TestHTTP1BodyReadAfterCancel(t *testing.T) {
	back, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	tr := newH1(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", back.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len("data: 1\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading the body after a cancel: %v, want context.Canceled", err)
	}

	// Through the proxy: a client that leaves a stream logs no warning.
	logs := &logRecorder{}
	p := proxy.New(startUpstream(t, []string{addr(back)}), proxy.WithTransport(tr), proxy.WithLogger(slog.New(logs)))
	served := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served) // before the server sees the abort's panic
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", front.URL, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	<-served
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.msgs) > 0 {
		t.Errorf("a client leaving a stream logged %q", logs.msgs)
	}
}

// TestHTTP1BytesAfterAnswer: an upstream that answers a HEAD with a body,
// or a 204 with one (a common framework bug), leaves bytes that belong to
// no answer; the connection must not carry the next request, which would
// read them as its answer's start and fail (http.Transport drops such a
// connection as it sees "unsolicited" bytes).
func TestHTTP1BytesAfterAnswer(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/head":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			case "/204":
				io.WriteString(c, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello")
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	tr := newH1(t)
	base := "http://" + addr
	for _, first := range [][2]string{{"HEAD", "/head"}, {"GET", "/204"}} {
		get(t, tr, first[0], base+first[1], nil)
		req, _ := http.NewRequest("GET", base+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Errorf("GET after %s %s with a body: %v", first[0], first[1], err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Errorf("GET after %s %s with a body: %q", first[0], first[1], b)
		}
	}
}

// TestHTTP1RequestLine: the request line is written as http.Transport
// writes it: an empty method means GET, and a method or a request target
// that could end the line (and start a request of the upstream's own) is
// refused, not sent.
func TestHTTP1RequestLine(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	tr := newH1(t)
	u, _ := url.Parse(srv.URL + "/x")
	resp, err := tr.RoundTrip(&http.Request{URL: u, Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Errorf("a request with an empty method: %d %q, want GET's answer", resp.StatusCode, b)
	}

	evil := &http.Request{Method: "GET /admin HTTP/1.1\r\nHost: internal\r\n\r\nGET", URL: u, Header: http.Header{}}
	if resp, err := tr.RoundTrip(evil); err == nil {
		resp.Body.Close()
		t.Error("a method with CR LF was sent")
	}
	q := *u
	q.RawQuery = "a=1 HTTP/1.1\r\nHost: internal\r\n\r\nGET /admin?b=2"
	if resp, err := tr.RoundTrip(&http.Request{Method: "GET", URL: &q, Header: http.Header{}}); err == nil {
		resp.Body.Close()
		t.Error("a query with CR LF was sent")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if strings.Contains(s, "admin") {
			t.Errorf("the upstream got a smuggled request: %q", s)
		}
	}
}
