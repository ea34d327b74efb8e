package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
)

// TestTrustedProxiesReload: a reload that changes trusted_proxies but keeps
// the upstream (reused, with its proxy) applies the new list to the proxy's
// X-Forwarded-For and to the rate-limit key alike. Before the list was a
// property of the route table, the reused proxy kept the old one.
func TestTrustedProxiesReload(t *testing.T) {
	b := newBackend(t, "b")
	doc := func(trusted string) string {
		return fmt.Sprintf(`%s
upstreams:
  u:
    instances: [%q]
routes:
  - name: r
    path_prefix: /
    upstream: u
    rate_limit: [{rate: 100, per: 1h, key: ip}]
`, trusted, b.addr())
	}
	reg := prometheus.NewRegistry()
	rt, err := config.NewRuntime(config.WithRegistry(reg), config.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	apply := func(trusted string) {
		t.Helper()
		loaded, err := config.Parse("gatescale.yaml", []byte(doc(trusted)))
		if err != nil {
			t.Fatal(err)
		}
		built, err := rt.Build(loaded)
		if err != nil {
			t.Fatal(err)
		}
		if err := gw.Apply(context.Background(), built.Gateway); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	// send returns what the upstream saw in X-Forwarded-For and the
	// remaining count of the rate-limit bucket the request was charged to.
	send := func(xff string) (string, string) {
		t.Helper()
		got := do(t, "GET", srv.URL+"/x", nil, "X-Forwarded-For", xff)
		if got.code != 200 {
			t.Fatalf("status %d %s", got.code, got.body)
		}
		_, remaining, _ := strings.Cut(got.header.Get("RateLimit"), ";r=")
		remaining, _, _ = strings.Cut(remaining, ";")
		return b.last().Header.Get("X-Forwarded-For"), remaining
	}

	apply("") // nothing trusted
	u := gw.Upstream("u")
	if xff, r := send("198.51.100.1"); xff != "127.0.0.1" || r != "99" {
		t.Fatalf("untrusted peer: upstream saw %q, bucket at %s; want 127.0.0.1 at 99", xff, r)
	}
	if _, r := send("198.51.100.2"); r != "98" {
		t.Fatalf("untrusted peer: a forwarded address chose bucket at %s; want the peer's at 98", r)
	}

	apply("trusted_proxies: [127.0.0.1]")
	if gw.Upstream("u") != u {
		t.Fatal("the unchanged upstream was rebuilt: the test needs it reused")
	}
	if xff, r := send("198.51.100.3"); xff != "198.51.100.3, 127.0.0.1" || r != "99" {
		t.Fatalf("newly trusted peer: upstream saw %q, bucket at %s; want the chain kept and the forwarded client's own bucket", xff, r)
	}

	apply("") // and untrusted again
	if gw.Upstream("u") != u {
		t.Fatal("the unchanged upstream was rebuilt")
	}
	if xff, r := send("198.51.100.4"); xff != "127.0.0.1" || r != "97" {
		t.Fatalf("newly untrusted peer: upstream saw %q, bucket at %s; want 127.0.0.1 and the peer's bucket at 97", xff, r)
	}
}
