package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/request"
)

// KeyFunc says which bucket a request counts against. Requests with the
// same key share a bucket; an empty key is a bucket of its own, shared by
// every request that gets it. It is balance.KeyFunc, so one key function
// can both balance and limit.
type KeyFunc = balance.KeyFunc

// ClientIP keys by the client's IP address as request.ClientOf decides it:
// X-Forwarded-For is believed only from trusted proxies, and the address
// is the right-most one in the chain that is not a trusted proxy, so a
// client cannot pick its own bucket by sending the header. Under a route
// table the table's trusted proxies decide, so a reload changes them for
// every key at once (behind request.TrustProxies, that middleware's list);
// trusted is used only for requests that came through neither. IPv6
// clients are keyed by their /64, the block one subscriber usually gets,
// so one client cannot mint buckets.
func ClientIP(trusted ...netip.Prefix) KeyFunc {
	trusted = append([]netip.Prefix(nil), trusted...)
	return func(r *http.Request) string {
		a := request.ClientOf(r, trusted).Addr
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
