package request_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/gatescale/gatescale/gateway/request"
)

// TestResolveClientHops: X-Forwarded-For is walked from the right through
// trusted proxies. Some proxies write a hop with its port (IIS/ARR,
// Azure's gateways: "203.0.113.7:50412", "[2001:db8::7]:443"); such a hop
// is an address like any other, where it used to stop the walk and leave
// every client behind that proxy with the proxy's address (one rate-limit
// bucket for all of them). Garbage still stops the walk.
func TestResolveClientHops(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct{ xff, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"203.0.113.7, 10.0.0.2", "203.0.113.7"},
		{"203.0.113.7:50412, 10.0.0.2", "203.0.113.7"},
		{"[2001:db8::7]:443", "2001:db8::7"},
		{"[2001:db8::7]", "2001:db8::7"},
		{"198.51.100.1, nonsense, 10.0.0.2", "10.0.0.2"},
		{"10.0.0.3:1, 10.0.0.2", "10.0.0.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", c.xff)
		got := request.ResolveClient(r, trusted)
		if got.Addr.String() != c.want || !got.ViaTrustedProxy {
			t.Errorf("X-Forwarded-For %q: client %v, want %s", c.xff, got.Addr, c.want)
		}
	}
}

// TestResolveClientZonedTrustedProxy: a trusted proxy on a link-local
// address reaches the gateway with a zone in its address
// ("[fe80::1%eth0]:1234", as net/http gives RemoteAddr); the zone is the
// interface, and fe80::/10 contains the proxy whatever it is. (Loopback
// has no link-local address, so RemoteAddr is set as the server sets it.)
func TestResolveClientZonedTrustedProxy(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("fe80::/10")}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[fe80::1%eth0]:1234"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, fe80::2%eth0")
	if got := request.ResolveClient(r, trusted); !got.ViaTrustedProxy || got.Addr.String() != "203.0.113.9" {
		t.Errorf("link-local trusted proxy: client %v, via a trusted proxy %t; want 203.0.113.9 via one", got.Addr, got.ViaTrustedProxy)
	}
}

// TestResolveClientMappedTrustedProxy: a trusted proxy listed in its
// IPv4-mapped IPv6 form (::ffff:127.0.0.1, as dual-stack software prints an
// IPv4 peer) is the IPv4 proxy it names. The peer is always compared
// unmapped, so such an entry used to match nothing: the proxy's
// X-Forwarded-For was not believed, and incoming_context: trusted_proxies
// restarted its traces. A real connection from 127.0.0.1.
func TestResolveClientMappedTrustedProxy(t *testing.T) {
	got := make(chan request.Client, 1)
	var trusted atomic.Pointer[netip.Prefix]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- request.ResolveClient(r, []netip.Prefix{*trusted.Load()})
	}))
	defer srv.Close()
	for _, c := range []struct {
		prefix  string
		trusted bool
	}{
		{"::ffff:127.0.0.1/128", true},
		{"::ffff:127.0.0.0/104", true},
		{"::ffff:10.0.0.0/104", false},
		{"127.0.0.1/32", true},
	} {
		p := netip.MustParsePrefix(c.prefix)
		trusted.Store(&p)
		req, err := http.NewRequest("GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cl := <-got
		if cl.ViaTrustedProxy != c.trusted || (c.trusted && cl.Addr.String() != "203.0.113.9") {
			t.Errorf("trusted %s, peer 127.0.0.1: client %v, via a trusted proxy %t; want via one %t", c.prefix, cl.Addr, cl.ViaTrustedProxy, c.trusted)
		}
	}
}
