package config

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
)

// TestMirrorExpectContinueAfterAuthn: the mirror reads a body ahead only
// once the route admitted the request. A client sending Expect:
// 100-continue without credentials gets its 401 without a 100 Continue
// (its body is never asked for); with its API key it gets 100 Continue,
// sends the body, and both the upstream and the mirror get it.
func TestMirrorExpectContinueAfterAuthn(t *testing.T) {
	var primaryBody atomic.Value
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		primaryBody.Store(string(b))
	}))
	defer primary.Close()
	copies := make(chan string, 4)
	shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		copies <- string(b)
	}))
	defer shadow.Close()
	doc := fmt.Sprintf(`
consumers:
  - id: billing
    api_keys: [{id: billing-1, sha256: %s}]
upstreams:
  orders: {instances: ["%s"]}
  orders-v2: {instances: ["%s"]}
routes:
  - name: orders
    path_prefix: /orders
    upstream: orders
    auth: {methods: [api_key]}
    mirror: {upstream: orders-v2}
`, consumer.HashKey("the-key"), strings.TrimPrefix(primary.URL, "http://"), strings.TrimPrefix(shadow.URL, "http://"))
	l, err := Parse("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(append(l.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithAccessLog(false))...)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	if err := l.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	// send writes a request's head announcing a 5-byte body and returns
	// the first answer the gateway gives before any body byte.
	send := func(key string) (net.Conn, *bufio.Reader, *http.Response) {
		t.Helper()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		head := "POST /orders/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
		if key != "" {
			head += "X-API-Key: " + key + "\r\n"
		}
		if _, err := io.WriteString(c, head+"\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, br, resp
	}

	c, _, resp := send("")
	c.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials the gateway answered %d before the body; want 401 (no 100 Continue)", resp.StatusCode)
	}

	c, br, resp := send("the-key")
	defer c.Close()
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("with the key: %d, want 100 Continue", resp.StatusCode)
	}
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the body: %v, %v", resp, err)
	}
	if got, _ := primaryBody.Load().(string); got != "hello" {
		t.Fatalf("upstream got %q", got)
	}
	select {
	case got := <-copies:
		if got != "hello" {
			t.Fatalf("mirror got %q", got)
		}
	case <-time.After(10 * time.Second): // only a failure waits for it
		t.Fatal("the mirror got no copy")
	}
	if len(copies) != 0 {
		t.Fatalf("the mirror got %d more copies: the refused request was copied", len(copies))
	}
}
