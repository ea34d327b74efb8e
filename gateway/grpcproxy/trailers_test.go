package grpcproxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// h2cClient speaks cleartext HTTP/2 with prior knowledge, as gRPC clients do.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// TestTrailersBothWays sends a request trailer through the gateway to an
// h2c upstream and gets the upstream's response trailers back, at the
// HTTP/2 level (grpc-go clients never send request trailers), without
// the request trailers the gateway filters (TestRequestTrailersFiltered in
// package proxy).
func TestTrailersBothWays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	up := &http.Server{Protocols: p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		w.Header().Set(http.TrailerPrefix+"X-Seen-Checksum", r.Trailer.Get("X-Checksum"))
		w.Header().Set(http.TrailerPrefix+"X-Seen-Forwarded-For", strings.Join(r.Trailer.Values("X-Forwarded-For"), ","))
	})}
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(func() { up.Close() })
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  raw:
    protocol: h2c
    instances: [%q]
routes:
  - name: raw
    path_prefix: /raw.Service
    upstream: raw
`, ln.Addr().String()))
	c := h2cClient()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+g.addr+"/raw.Service/Echo", pr)
	req.Header.Set("Content-Type", "application/grpc")
	// A forwarding field in the trailers is the client's, not the
	// gateway's: it stays on this hop, as in the header.
	req.Trailer = http.Header{"X-Checksum": {"c0ffee"}, "X-Forwarded-For": {"6.6.6.6"}}
	go func() {
		_, _ = io.WriteString(pw, "\x00\x00\x00\x00\x03abc")
		pw.Close()
	}()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "\x00\x00\x00\x00\x03abc" {
		t.Errorf("body %q", body)
	}
	if got := resp.Trailer.Get("X-Seen-Checksum"); got != "c0ffee" {
		t.Errorf("the upstream saw request trailer X-Checksum %q, want c0ffee (response trailers %v)", got, resp.Trailer)
	}
	if got := resp.Trailer.Get("X-Seen-Forwarded-For"); got != "" {
		t.Errorf("the upstream saw request trailer X-Forwarded-For %q, want none", got)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Errorf("response trailer grpc-status %q, want 0", got)
	}

	// A malformed grpc-timeout is refused with INTERNAL, as grpc-go
	// servers refuse it.
	req, _ = http.NewRequest("POST", "http://"+g.addr+"/raw.Service/Echo", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Grpc-Timeout", "soon")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "13" || !strings.Contains(resp.Header.Get("Grpc-Message"), "grpc-timeout") {
		t.Errorf("malformed grpc-timeout: %d %v", resp.StatusCode, resp.Header)
	}

	// Requests that are not gRPC keep the gateway's problem answers.
	resp, err = c.Get("http://" + g.addr + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("plain HTTP without a route: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
