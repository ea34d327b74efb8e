package request_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/request"
)

// FuzzResolveClient: X-Forwarded-For is whatever a client writes. The
// client found is the TCP peer or an address written in the header to the
// right of any entry that does not parse, and every entry to its right is
// a trusted proxy (so no untrusted party chose it); from a peer that is
// not trusted, nothing in the header counts.
func FuzzResolveClient(f *testing.F) {
	f.Add("10.0.0.1:5000", "203.0.113.7, 10.0.0.2", "")
	f.Add("10.0.0.1:5000", "198.51.100.1, garbage, 203.0.113.7:50412", "")
	f.Add("[::ffff:10.0.0.1]:5000", "[2001:db8::7]:443", "2001:db8::9")
	f.Add("192.0.2.1:1", "10.0.0.9", "")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::ffff:10.0.0.0/104")}
	f.Fuzz(func(t *testing.T, remote, xff, xff2 string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			r.Header.Add("X-Forwarded-For", xff)
		}
		if xff2 != "" {
			r.Header.Add("X-Forwarded-For", xff2)
		}
		c := request.ResolveClient(r, trusted)
		// RemoteAddr is net/http's: the peer's ip:port, not the client's
		// text. The header is what the fuzzer plays with.
		ap, err := netip.ParseAddrPort(remote)
		if err != nil {
			return
		}
		peer := ap.Addr()
		peer = peer.Unmap()
		inTrusted := func(a netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		if !inTrusted(peer) {
			if c.Addr != peer || c.ViaTrustedProxy {
				t.Fatalf("untrusted peer %v: client %v (via proxy %v)", peer, c.Addr, c.ViaTrustedProxy)
			}
			return
		}
		if !c.ViaTrustedProxy {
			t.Fatalf("trusted peer %v: not marked via a trusted proxy", peer)
		}
		if c.Addr == peer {
			return
		}
		if c.Host != c.Addr.String() {
			t.Fatalf("client %v written as %q", c.Addr, c.Host)
		}
		// The hops from the right, as written.
		var hops []string
		for _, v := range []string{xff2, xff} {
			if v == "" {
				continue
			}
			parts := strings.Split(v, ",")
			for i := len(parts) - 1; i >= 0; i-- {
				hops = append(hops, strings.TrimSpace(parts[i]))
			}
		}
		for _, h := range hops {
			a, ok := hopAddr(h)
			if !ok {
				t.Fatalf("client %v is left of the unparseable hop %q in %q, %q", c.Addr, h, xff, xff2)
			}
			if a == c.Addr {
				return
			}
			if !inTrusted(a) {
				t.Fatalf("client %v is left of the untrusted hop %v in %q, %q", c.Addr, a, xff, xff2)
			}
		}
		t.Fatalf("client %v is not in %q, %q", c.Addr, xff, xff2)
	})
}

// hopAddr reads a hop as an address, with or without a port.
func hopAddr(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil && a.Is6() {
			return a, true
		}
	}
	return netip.Addr{}, false
}
