package cors

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// OriginPattern is one entry of Options.AllowOrigins, parsed: "*" (any
// origin), an exact origin ("https://app.example.com:8443"), or a wildcard
// subdomain ("https://*.example.com"), which matches one or more labels in
// front of the domain but not the domain itself. Scheme and port are part
// of every pattern but "*": https://*.example.com does not match
// http://a.example.com or https://a.example.com:8443.
type OriginPattern struct {
	any    bool
	scheme string
	// host is the whole host of an exact pattern, or ".example.com" (with
	// the dot) of a wildcard one.
	host     string
	wildcard bool
	port     string // "" for the scheme's default port
}

// ParseOrigin parses an origin pattern. Scheme and host are matched in
// lower case, an international host in its ASCII form (punycode), and a
// scheme's default port (https:443, http:80) is dropped: browsers send
// origins so.
func ParseOrigin(s string) (OriginPattern, error) {
	if s == "*" {
		return OriginPattern{any: true}, nil
	}
	if strings.TrimSpace(s) != s || s == "" {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: no spaces around it, not empty", s)
	}
	if strings.EqualFold(s, "null") {
		// Sandboxed documents, data: URLs and redirects all send "null":
		// allowing it allows any of them.
		return OriginPattern{}, fmt.Errorf(`"null" is refused: every sandboxed iframe and data: document sends it`)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: want scheme://host[:port], like https://app.example.com", s)
	}
	scheme = strings.ToLower(scheme)
	if !validScheme(scheme) {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: %q is not a URL scheme", s, scheme)
	}
	p, err := parseHostPort(scheme, rest)
	if err != nil {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: %v", s, err)
	}
	if err := asciiHost(&p); err != nil {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: %v", s, err)
	}
	if strings.HasPrefix(p.host, "*.") {
		p.wildcard, p.host = true, p.host[1:]
		if !validHost(p.host[1:]) || !strings.Contains(p.host[1:], ".") && p.host[1:] != "localhost" {
			return OriginPattern{}, fmt.Errorf("%q is not an origin: a wildcard needs a domain after \"*.\" (https://*.example.com)", s)
		}
	} else if strings.Contains(p.host, "*") {
		return OriginPattern{}, fmt.Errorf("%q: \"*\" may only be the first label of the host (https://*.example.com)", s)
	} else if !validHost(p.host) && !isIPv6Literal(p.host) {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: %q is not a host name or IP address", s, p.host)
	}
	return p, nil
}

// parseHostPort splits host[:port] of an origin (no path, no user info)
// and normalises it.
func parseHostPort(scheme, s string) (OriginPattern, error) {
	if s == "" {
		return OriginPattern{}, fmt.Errorf("no host")
	}
	if strings.ContainsAny(s, "/?#@\\ ") {
		return OriginPattern{}, fmt.Errorf("an origin has no path, query, fragment or user info")
	}
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return OriginPattern{}, fmt.Errorf("port %q is not from 1 to 65535", port)
		}
	}
	if host == "" {
		return OriginPattern{}, fmt.Errorf("no host")
	}
	if port == defaultPort(scheme) {
		port = ""
	}
	return OriginPattern{scheme: scheme, host: strings.ToLower(host), port: port}, nil
}

// asciiHost turns an international host (bücher.example, or the domain
// of a wildcard) into the ASCII form browsers send in Origin
// (xn--bcher-kva.example).
func asciiHost(p *OriginPattern) error {
	if isASCII(p.host) {
		return nil
	}
	prefix, h := "", p.host
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		prefix, h = "*.", rest
	}
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return fmt.Errorf("%q is not an international domain name: %v", h, err)
	}
	p.host = prefix + a
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// validHost reports a DNS name or an IPv4 address: labels of letters,
// digits and hyphens, separated by single dots.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isIPv6Literal(h string) bool {
	if len(h) < 2 || h[0] != '[' || h[len(h)-1] != ']' {
		return false
	}
	ip := net.ParseIP(h[1 : len(h)-1])
	return ip != nil && strings.Contains(h, ":")
}

// String returns the pattern in its normal form.
func (p OriginPattern) String() string {
	if p.any {
		return "*"
	}
	h := p.host
	if p.wildcard {
		h = "*" + h
	}
	if p.port != "" {
		h += ":" + p.port
	}
	return p.scheme + "://" + h
}

// Any reports whether the pattern is "*".
func (p OriginPattern) Any() bool { return p.any }

// Match reports whether the request's Origin header value matches the
// pattern. A value that is not a serialised origin (scheme://host[:port])
// matches nothing but "*"; "null" matches only "*".
func (p OriginPattern) Match(origin string) bool {
	if p.any {
		return origin != ""
	}
	scheme, rest, ok := strings.Cut(origin, "://")
	if !ok || !strings.EqualFold(scheme, p.scheme) {
		return false
	}
	o, err := parseHostPort(p.scheme, rest)
	if err != nil || o.port != p.port {
		return false
	}
	if !p.wildcard {
		return o.host == p.host
	}
	sub, ok := strings.CutSuffix(o.host, p.host)
	return ok && sub != "" && validHost(sub)
}
