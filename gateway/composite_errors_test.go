package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
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
	srv, _ := serveYAML(t, doc)

	resp, err := http.Get(srv + "/order-page/o1")
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
