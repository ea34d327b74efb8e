package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// TestHeaderRules: a proxied route's request rules reach the backend and
// its response rules the client; a composite route's response rules apply
// to its merged answer; the identity header auth.forward sets is not a
// rule's to overwrite.
func TestHeaderRules(t *testing.T) {
	users, orders := newBackend(t, "users"), newBackend(t, "orders")
	users.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "internal/1.0")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"u1"}`)
	})
	orders.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"o1"}`)
	})
	key := "gsk_headers-test-key-0123456789abcdef"
	srv, _ := serveYAML(t, fmt.Sprintf(`
consumers:
  - id: shop
    api_keys: [{id: shop-1, sha256: %s}]
auth:
  forward: {consumer_id: X-Consumer-Id}
upstreams:
  users: {instances: [%q]}
  orders: {instances: [%q]}
routes:
  - name: users
    path: /users
    upstream: users
    headers:
      request:
        remove: [Cookie, X-Debug]
        set: {X-Env: prod}
        add: {X-Tag: gateway}
      response:
        remove: [Server]
        set: {X-Frame-Options: DENY}
        add: {X-Served-By: gatescale}
  - name: page
    path: /page
    composite:
      calls:
        - {name: user, upstream: users, path: /users, group: user}
        - {name: order, upstream: orders, path: /orders, group: order}
    headers:
      response:
        remove: [X-Gatescale-Partial]
        set: {Cache-Control: no-store}
        add: {X-Served-By: gatescale}
  - name: me
    path: /me
    upstream: users
    auth: {methods: [api_key]}
    headers:
      request:
        set: {X-Consumer-Id: admin}
        remove: [X-API-Key]
`, consumer.HashKey(key), users.addr(), orders.addr()))

	r := do(t, http.MethodGet, srv+"/users", nil, "Cookie", "session=secret", "X-Debug", "1", "X-Env", "dev", "X-Tag", "client")
	if r.code != 200 || r.body != `{"id":"u1"}` {
		t.Fatalf("GET /users: %d %q", r.code, r.body)
	}
	seen := users.last()
	if seen.Header.Get("Cookie") != "" || seen.Header.Get("X-Debug") != "" || strings.Join(seen.Header.Values("X-Env"), ",") != "prod" ||
		strings.Join(seen.Header.Values("X-Tag"), ",") != "client,gateway" {
		t.Errorf("the backend saw %v", seen.Header)
	}
	if seen.Header.Get("X-Forwarded-For") == "" || seen.Header.Get("X-Request-Id") == "" {
		t.Errorf("the gateway's own headers are missing upstream: %v", seen.Header)
	}
	if r.header.Get("Server") != "" || r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Served-By") != "gatescale" {
		t.Errorf("the client got %v", r.header)
	}

	// Authentication read the key before the rules removed it; the
	// identity header is the gateway's, not the rule's.
	if r := do(t, http.MethodGet, srv+"/me", nil, "X-API-Key", key); r.code != 200 {
		t.Fatalf("GET /me: %d %q", r.code, r.body)
	}
	seen = users.last()
	if got := seen.Header.Values("X-Consumer-Id"); strings.Join(got, ",") != "shop" || seen.Header.Get("X-API-Key") != "" {
		t.Errorf("the backend saw X-Consumer-Id %q, X-API-Key %q: want shop and none", got, seen.Header.Get("X-API-Key"))
	}

	r = do(t, http.MethodGet, srv+"/page", nil)
	if r.code != 200 || !strings.Contains(r.body, `"o1"`) || !strings.Contains(r.body, `"u1"`) {
		t.Fatalf("GET /page: %d %q", r.code, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Served-By") != "gatescale" || r.header.Get("Server") != "" {
		t.Errorf("the composite's merged answer: %v", r.header)
	}
}

// TestHeaderRulesOnGatewayAnswers: the response rules reach the gateway's
// own error for an upstream it cannot reach (502), as docs say, and not a
// CORS preflight, which the route's policy answers before them.
func TestHeaderRulesOnGatewayAnswers(t *testing.T) {
	srv, _ := serveYAML(t, fmt.Sprintf(`
upstreams:
  dead: {instances: [%q]}
routes:
  - name: dead
    path: /dead
    methods: [PUT]
    upstream: dead
    cors: {allow_origins: ["https://app.example.com"]}
    headers: {response: {set: {X-Frame-Options: DENY}}}
`, closedAddr(t)))
	r := do(t, http.MethodPut, srv+"/dead", strings.NewReader("{}"))
	if r.code != http.StatusBadGateway || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("PUT to a dead upstream: %d %v, want 502 with the rule's header", r.code, r.header)
	}
	r = do(t, http.MethodOptions, srv+"/dead", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") == "" || r.header.Get("X-Frame-Options") != "" {
		t.Errorf("preflight: %d %v, want 204 with CORS headers and without the rule's", r.code, r.header)
	}
}
