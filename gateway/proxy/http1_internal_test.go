package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
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
