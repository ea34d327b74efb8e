package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A program's own handlers are served on the admin listener next to the
// probes; a pattern that conflicts with them is refused before anything
// listens.
func TestServerAdminHandlers(t *testing.T) {
	gw, _, reg := newGateway(t, gateway.Config{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	adminLn, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &gateway.Server{Gateway: gw, Listener: ln, AdminListener: adminLn, Gatherer: reg, DrainPeriod: time.Millisecond,
		AdminHandlers: map[string]http.Handler{
			"GET /config": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"revision":"x"}`) }),
		}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	admin := "http://" + adminLn.Addr().String()
	var body string
	eventually(t, 2*time.Second, "GET /config on the admin listener", func() bool {
		resp, err := http.Get(admin + "/config")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if body != `{"revision":"x"}` {
		t.Errorf("body %q", body)
	}
	if resp, err := http.Get(admin + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Post(admin+"/config", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /config: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	bad := &gateway.Server{Gateway: gw, Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		AdminHandlers: map[string]http.Handler{"/metrics": http.NotFoundHandler()}}
	if err := bad.Run(context.Background()); err == nil || !strings.Contains(err.Error(), `admin handler "/metrics"`) {
		t.Errorf("conflicting pattern: %v", err)
	}
}

// TestShutdownTimeoutEndsStragglers: ShutdownTimeout bounds the wait for
// in-flight requests. A request still running when it passes (a long poll,
// a stream, a stuck upstream) must be ended — its connection closed, its
// context canceled — as http.Server.Close does, not left running with its
// client waiting after Run has returned.
func TestShutdownTimeoutEndsStragglers(t *testing.T) {
	started := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // runs until the server gives up on it
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &gateway.Server{Handler: handler, Listener: ln, DrainPeriod: time.Millisecond, ShutdownTimeout: 50 * time.Millisecond}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	answered := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String() + "/long-poll")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		answered <- err
	}()
	<-started
	stop()
	if err := <-done; err == nil {
		t.Fatal("Run returned nil with a request still in flight past ShutdownTimeout")
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Error("the straggler got a complete answer; want its connection closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run returned but the straggling request is still running: its connection was never closed")
	}
}

// TestServerWithoutHandlerRefusesToStart: a Server with neither Handler nor
// Gateway would serve a nil *Gateway and panic on every request; Run must
// refuse before it listens, with an error naming the missing fields.
func TestServerWithoutHandlerRefusesToStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &gateway.Server{Listener: ln, DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "Handler") || !strings.Contains(err.Error(), "Gateway") {
			t.Fatalf("Run: %v; want an error naming Handler and Gateway", err)
		}
	case <-time.After(10 * time.Second):
		stop()
		<-done
		t.Fatal("Run started serving with neither Handler nor Gateway set")
	}
}

// TestShutdownClosesUpgradedConnections: http.Server.Shutdown does not
// track hijacked connections, so a WebSocket (or other upgrade) proxied
// by the gateway outlived Run, keeping its goroutines and sockets in the
// embedding program. Run must give it ShutdownTimeout like any request,
// then close it on both sides.
func TestShutdownClosesUpgradedConnections(t *testing.T) {
	backendDone := make(chan error, 1)
	b := newBackend(t, "ws")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			backendDone <- err
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		for { // echo lines until the gateway closes the connection
			line, err := brw.ReadString('\n')
			if err != nil {
				backendDone <- err
				return
			}
			_, _ = brw.WriteString("echo: " + line)
			_ = brw.Flush()
		}
	})
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "ws", Instances: []discovery.Instance{b.instance()}}},
		Routes:    []route.Route{{Route: spec.Route{Name: "ws", PathPrefix: "/ws", Upstream: "ws"}}},
	}
	gw, _, _ := newGateway(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &gateway.Server{Gateway: gw, Listener: ln, DrainPeriod: time.Millisecond, ShutdownTimeout: 100 * time.Millisecond}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade response: %v %v", resp, err)
	}
	_, _ = io.WriteString(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Fatalf("over the upgraded connection got %q, %v", line, err)
	}

	stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run returned nil though an upgraded connection had to be cut at ShutdownTimeout")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	// Run has returned: the client's side must be closed by now, not left
	// open until the client gives up. The deadline only keeps a failing
	// test from hanging.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the upgraded connection still carries data after Run returned")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("the upgraded connection is still open after Run returned")
	}
	select {
	case <-backendDone:
	case <-time.After(30 * time.Second):
		t.Error("the upstream side of the upgraded connection was never closed")
	}
}
