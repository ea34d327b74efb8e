package request

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// Client is who sent a request, as far as the gateway can tell: the TCP
// peer, or — when the peer is a trusted proxy — the address that proxy
// reports in X-Forwarded-For.
type Client struct {
	// Addr is the client's IP address (IPv4-mapped addresses unmapped). It
	// is invalid when the address is not an IP (e.g. a Unix socket peer).
	Addr netip.Addr
	// Host is the address as text: RemoteAddr without its port when the
	// client is the peer (taking it allocates nothing), else Addr.String().
	Host string
	// ViaTrustedProxy reports that the TCP peer is a trusted proxy, so the
	// X-Forwarded-* and Forwarded headers it sent are believed.
	ViaTrustedProxy bool
}

// ResolveClient decides r's client with trusted as the trusted proxies.
// From an untrusted peer nothing in the headers is believed. From a
// trusted one, X-Forwarded-For is walked from the right (each proxy
// appends the address it received from) and the first address that is not
// a trusted proxy is the client; an entry with a port is read as its
// address, and an unparseable one stops the walk, so garbage further left
// is never believed.
func ResolveClient(r *http.Request, trusted []netip.Prefix) Client {
	host := remoteHost(r.RemoteAddr)
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return Client{Host: host}
	}
	peer = peer.Unmap()
	if !contains(trusted, peer) {
		return Client{Addr: peer, Host: host}
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
walk:
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var part string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				part, rest = rest[j+1:], rest[:j]
			} else {
				part, rest = rest, ""
			}
			a, err := parseHop(strings.TrimSpace(part))
			if err != nil {
				break walk // garbage: believe nothing further left
			}
			client = a.Unmap()
			if !contains(trusted, client) {
				break walk
			}
		}
	}
	c := Client{Addr: client, Host: host, ViaTrustedProxy: true}
	if client != peer {
		c.Host = client.String()
	}
	return c
}

// parseHop reads one X-Forwarded-For entry: an address, or one with its
// port as some proxies write it (IIS/ARR, Azure's gateways:
// "203.0.113.7:50412", "[2001:db8::7]:443", "[2001:db8::7]").
func parseHop(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err == nil {
		return a, nil
	}
	if ap, perr := netip.ParseAddrPort(s); perr == nil {
		return ap.Addr(), nil
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, berr := netip.ParseAddr(s[1 : len(s)-1]); berr == nil && a.Is6() {
			return a, nil
		}
	}
	return netip.Addr{}, err
}

// ClientOf returns r's client as decided once for the request: by the
// Table that routed it (its WithTrustedProxies list, so a reload applies a
// new list to every route at once), else by TrustProxies middleware, else
// now with fallback as the trusted proxies. The proxy, the rate-limit keys
// and balancing by client IP all ask here, so they never disagree.
func ClientOf(r *http.Request, fallback []netip.Prefix) Client {
	ctx := r.Context()
	if info := InfoFrom(ctx); info != nil && info.hasClient {
		return info.client
	}
	if c, ok := ctx.Value(clientKey{}).(*Client); ok {
		return *c
	}
	return ResolveClient(r, fallback)
}

type clientKey struct{}

// TrustProxies is middleware for a plain chi router (no Table): it decides
// the client once with nets as the trusted proxies, for ClientOf and
// everything that uses it. Under a Table it changes nothing: the table's
// list decides.
func TrustProxies(nets ...netip.Prefix) func(http.Handler) http.Handler {
	nets = append([]netip.Prefix(nil), nets...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := ResolveClient(r, nets)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, &c)))
		})
	}
}

func contains(nets []netip.Prefix, a netip.Addr) bool {
	// A link-local peer has a zone (fe80::1%eth0), which no prefix
	// contains: the zone names the interface, not part of the address.
	a = a.WithZone("")
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	if a.Is4() {
		// a is unmapped; an IPv4 proxy may be listed IPv4-mapped
		// (::ffff:10.0.0.0/104), as dual-stack software prints it.
		mapped := netip.AddrFrom16(a.As16())
		for _, n := range nets {
			if n.Contains(mapped) {
				return true
			}
		}
	}
	return false
}

// remoteHost strips the port from "host:port" and the brackets from
// "[v6]:port"; an address without a port is returned as is. It slices, so
// it does not allocate.
func remoteHost(addr string) string {
	if strings.HasPrefix(addr, "[") {
		if end := strings.IndexByte(addr, ']'); end > 0 {
			return addr[1:end]
		}
		return addr
	}
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 {
		return addr[:i]
	}
	return addr
}
