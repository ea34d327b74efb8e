package config

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/live"
)

// TestIPAccessFromFile: routes with ip_access, built from a file by the
// live runtime and served over real TCP from loopback. The client address
// is the peer, or with the peer among trusted_proxies the client its
// X-Forwarded-For names; a refused request reaches no upstream; a draft
// route stays 404 to a refused address.
func TestIPAccessFromFile(t *testing.T) {
	var reached atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	const tmpl = `TRUSTED
upstreams:
  shop:
    instances: [BACKEND]
routes:
  - name: office
    path_prefix: /office
    upstream: shop
    ip_access: {allow: [10.0.0.0/8, "::ffff:192.0.2.0/120"], deny: [10.9.0.0/16]}
  - name: open
    path_prefix: /open
    upstream: shop
    ip_access: {deny: [127.0.0.1]}
  - name: draft
    path_prefix: /draft
    upstream: shop
    lifecycle: {state: draft}
    ip_access: {deny: [127.0.0.0/8]}
`
	doc := func(trusted string) string {
		return strings.NewReplacer("TRUSTED", trusted, "BACKEND", strings.TrimPrefix(backend.URL, "http://")).Replace(tmpl)
	}
	l, err := Parse("ip.yaml", []byte(doc("")))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(append(l.GatewayOptions(), gateway.WithAccessLog(false))...)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(prometheus.NewRegistry()))
	defer rt.Close()
	if err := l.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	get := func(path, xff string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	check := func(what, path, xff string, want int) {
		t.Helper()
		before := reached.Load()
		if got := get(path, xff); got != want {
			t.Errorf("%s: GET %s (X-Forwarded-For %q) = %d, want %d", what, path, xff, got, want)
		}
		if n := reached.Load() - before; (want == http.StatusOK) != (n == 1) {
			t.Errorf("%s: the upstream was reached %d times", what, n)
		}
	}
	check("loopback outside allow", "/office/1", "", http.StatusForbidden)
	check("an untrusted peer's X-Forwarded-For", "/office/1", "10.1.1.1", http.StatusForbidden)
	check("denied peer", "/open/1", "", http.StatusForbidden)
	check("draft, refused address", "/draft/1", "", http.StatusNotFound)

	// Behind a proxy on loopback (a reload), the client it names decides.
	l, err = Parse("ip.yaml", []byte(doc("trusted_proxies: [127.0.0.0/8]")))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	check("trusted proxy, client in allow", "/office/1", "10.1.1.1", http.StatusOK)
	check("trusted proxy, client in deny inside allow", "/office/1", "10.9.0.5", http.StatusForbidden)
	check("trusted proxy, client in an IPv4-mapped allow", "/office/1", "192.0.2.9", http.StatusOK)
	check("trusted proxy, client outside allow", "/office/1", "11.0.0.1", http.StatusForbidden)
	check("trusted proxy, the client is not the denied peer", "/open/1", "203.0.113.4", http.StatusOK)
}
