package mirror

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestGRPCStreamNotReadAhead: a gRPC stream's request body ends only when
// the client is done, and a bidirectional client sends its next message
// after the answer to the last. Read ahead, the primary would never start
// (the client waits for an answer, the mirror for the end of the body).
// Over real HTTP/2, the primary answers the first message while the
// client's body is still open, and the stream is counted not copied.
func TestGRPCStreamNotReadAhead(t *testing.T) {
	var copied atomic.Int64
	m, err := New("r", Policy{Upstream: "u"}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { copied.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line, err := bufio.NewReader(r.Body).ReadString('\n')
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = io.WriteString(w, "echo "+line)
		w.(http.Flusher).Flush()
		_, _ = io.Copy(io.Discard, r.Body) // the rest of the stream
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	// Only the failure waits for it: with the read-ahead the stream hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/pkg.Svc/Chat", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	go func() { _, _ = io.WriteString(pw, "first message\n") }()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("the stream got no answer to its first message: %v", err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "echo first message\n" || resp.ProtoMajor != 2 {
		t.Fatalf("got %q, %v over HTTP/%d; want the echo of the first message over HTTP/2", line, err, resp.ProtoMajor)
	}
	pw.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if n := copied.Load(); n != 0 || m.inFlight.Load() != 0 {
		t.Fatalf("a stream was copied (%d) or kept a slot (%d)", n, m.inFlight.Load())
	}
}
