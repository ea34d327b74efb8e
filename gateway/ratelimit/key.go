package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// KeyFunc says which bucket a request counts against. Requests with the
// same key share a bucket; an empty key is a bucket of its own, shared by
// every request that gets it.
type KeyFunc func(r *http.Request) string

// ClientIP keys by the client's IP address. X-Forwarded-For is believed
// only from the trusted proxies: the address is the right-most one in the
// chain that is not a trusted proxy, so a client cannot pick its own
// bucket by sending the header. IPv6 clients are keyed by their /64, the
// block one subscriber usually gets, so one client cannot mint buckets.
func ClientIP(trusted ...netip.Prefix) KeyFunc {
	return func(r *http.Request) string {
		a := clientIP(r, trusted)
		if !a.IsValid() {
			return "ip:unknown"
		}
		if a.Is6() {
			p, _ := a.Prefix(64)
			return "ip:" + p.String()
		}
		return "ip:" + a.String()
	}
}

func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	// Walk the chain from the right: each hop was appended by the proxy
	// that received it, so the first untrusted one is the client.
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client // garbage: believe nothing further left
			}
			a = a.Unmap()
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Consumer keys by the authenticated consumer (see package authn); an
// anonymous request is keyed by fallback (e.g. ClientIP), or shares one
// bucket when fallback is nil.
func Consumer(fallback KeyFunc) KeyFunc {
	return func(r *http.Request) string {
		if id := consumer.FromContext(r.Context()); !id.Anonymous() {
			return "consumer:" + id.ConsumerID
		}
		return orFallback(fallback, r)
	}
}

// APIKey keys by the API key a request authenticated with, so each of a
// consumer's keys has its own budget; other requests are keyed by
// fallback.
func APIKey(fallback KeyFunc) KeyFunc {
	return func(r *http.Request) string {
		if id := consumer.FromContext(r.Context()); id != nil && id.Method == consumer.MethodAPIKey {
			return "api_key:" + id.Credential
		}
		return orFallback(fallback, r)
	}
}

// Header keys by the value of a request header (hashed, so a long value
// makes no long key); requests without it are keyed by fallback. Only use
// a header that something trusted sets: clients choose their own.
func Header(name string, fallback KeyFunc) KeyFunc {
	return func(r *http.Request) string {
		v := r.Header.Get(name)
		if v == "" {
			return orFallback(fallback, r)
		}
		sum := sha256.Sum256([]byte(v))
		return "header:" + hex.EncodeToString(sum[:16])
	}
}

func orFallback(f KeyFunc, r *http.Request) string {
	if f == nil {
		return ""
	}
	return f(r)
}
