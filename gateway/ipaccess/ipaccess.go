package ipaccess

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

// Rule is the addresses a route admits. The zero Rule admits everyone.
type Rule struct {
	// Allow, when not empty, is the only addresses admitted.
	Allow []netip.Prefix
	// Deny is refused, inside Allow too.
	Deny []netip.Prefix
}

// Lists is a Rule as written in a file: prefixes or single addresses.
type Lists struct {
	// Allow lists the only client addresses admitted, when not empty:
	// prefixes (10.0.0.0/8, 2001:db8::/32) or single addresses.
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
	// Deny is the client addresses refused, inside Allow too.
	Deny []string `yaml:"deny,omitempty" json:"deny,omitempty"`
}

// EntryError is a wrong entry of a list.
type EntryError struct {
	List  string // "allow" or "deny"
	Index int
	Err   error
}

func (e *EntryError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.List, e.Index, e.Err) }

func (e *EntryError) Unwrap() error { return e.Err }

// ParseRule parses l. Its error is an *EntryError for the first wrong
// entry, so a caller can place it (routes[3].ip_access.allow[1]).
func ParseRule(l Lists) (Rule, error) {
	var r Rule
	var err error
	if r.Allow, err = parseList("allow", l.Allow); err != nil {
		return Rule{}, err
	}
	if r.Deny, err = parseList("deny", l.Deny); err != nil {
		return Rule{}, err
	}
	return r, nil
}

func parseList(name string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, &EntryError{List: name, Index: i, Err: err}
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefix parses one entry: a prefix in CIDR notation or a single
// address (a /32 or /128). An IPv4-mapped IPv6 prefix of /96 or longer is
// the IPv4 prefix it maps. A prefix with bits set past its length
// ("10.1.2.3/8") is refused: it is a typo more often than not, and which
// of the two was meant cannot be told.
func ParsePrefix(s string) (netip.Prefix, error) {
	if s != strings.TrimSpace(s) || s == "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix", s)
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a prefix (like 10.0.0.0/8 or 2001:db8::/32)", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has bits set past its length: write %s", s, p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has a zone: zones never match a client address", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// Masked, an IPv4-mapped prefix is /96 or longer: the IPv4 prefix it
	// maps, so it matches IPv4 peers (Admits unmaps them too).
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// Admits reports whether r admits a.
func (r Rule) Admits(a netip.Addr) bool {
	if !a.IsValid() {
		// Not known (a listener that is not TCP): only a rule that
		// restricts nothing admits it.
		return len(r.Allow) == 0 && len(r.Deny) == 0
	}
	a = a.Unmap().WithZone("")
	for _, p := range r.Deny {
		if p.Contains(a) {
			return false
		}
	}
	if len(r.Allow) == 0 {
		return true
	}
	for _, p := range r.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Option configures Middleware.
type Option func(*options)

type options struct {
	trusted []netip.Prefix
}

// WithTrustedProxies sets the proxies whose X-Forwarded-For names the
// client, for a request no route table (route.WithTrustedProxies) or
// request.TrustProxies decided the client of already.
func WithTrustedProxies(nets ...netip.Prefix) Option {
	return func(o *options) { o.trusted = append([]netip.Prefix(nil), nets...) }
}

// Middleware refuses, with 403, the requests whose client rule does not
// admit.
func Middleware(rule Rule, opts ...Option) func(http.Handler) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !rule.Admits(request.ClientOf(r, o.trusted).Addr) {
				// The address is not echoed: the client knows it, and
				// a proxy's view of it is not the client's business.
				// The access log's error tells this 403 from an
				// authorization's, as authn and the rate limits do theirs.
				if info := request.InfoFrom(r.Context()); info != nil {
					info.SetError("forbidden: client address (ip_access)")
				}
				problem.Write(w, problem.Details{Status: http.StatusForbidden, Detail: "requests from this address are not allowed here"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
