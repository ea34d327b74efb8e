package request_test

import (
	"net/http/httptest"
	"net/netip"
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
