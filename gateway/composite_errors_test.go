package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/live"
)

// TestCompositeErrorHidesInstanceAddress: a failed call's problem names
// the call and the upstream, as a proxied route's 502 does, but not the
// instance's address and port (the network layout behind the gateway is
// not the client's business; the log has it).
func TestCompositeErrorHidesInstanceAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there: connection refused
	doc := fmt.Sprintf(`
upstreams:
  orders: {instances: [%q]}
routes:
  - name: order-page
    path: /order-page/{id}
    composite:
      calls:
        - {name: order, upstream: orders, path: "/orders/{id}"}
`, dead)
	loaded, err := config.Parse("composite.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(logger), gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	t.Cleanup(rt.Close)
	if err := loaded.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)

	resp, err := http.Get(hs.URL + "/order-page/o1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p map[string]any
	_ = json.Unmarshal(body, &p)
	if resp.StatusCode != http.StatusBadGateway || p["call"] != "order" {
		t.Fatalf("%d %s, want a 502 naming the call", resp.StatusCode, body)
	}
	_, port, _ := net.SplitHostPort(dead)
	if s := string(body); strings.Contains(s, dead) || strings.Contains(s, ":"+port) {
		t.Errorf("the problem shows the instance's address %s: %s", dead, body)
	}
}
