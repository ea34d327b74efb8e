package cors_test

import (
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/cors"
)

// FuzzOrigin parses arbitrary patterns and matches arbitrary origins: no
// panic, the normal form parses to itself, and a match never crosses
// scheme or port, nor lets a wildcard match its own domain.
func FuzzOrigin(f *testing.F) {
	for _, s := range [][2]string{
		{"https://*.example.com", "https://a.example.com"},
		{"https://app.example.com:8443", "https://app.example.com:8443"},
		{"http://[::1]:80", "http://[::1]"},
		{"*", "null"},
		{"https://*.example.com", "https://example.com"},
		{"HTTPS://A.example.COM:443", "https://a.example.com"},
		{"https://*.localhost", "https://x.localhost:1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		p, err := cors.ParseOrigin(pattern)
		if err != nil {
			return
		}
		again, err := cors.ParseOrigin(p.String())
		if err != nil || again != p {
			t.Fatalf("%q: normal form %q parses to %v, %v", pattern, p.String(), again, err)
		}
		if !p.Match(origin) || p.Any() {
			return
		}
		norm := p.String()
		scheme, _, _ := strings.Cut(norm, "://")
		if !strings.HasPrefix(strings.ToLower(origin), scheme+"://") {
			t.Fatalf("%s matched %q of another scheme", norm, origin)
		}
		if strings.ContainsAny(origin, "/?#@ ") && strings.Count(origin, "/") != 2 {
			t.Fatalf("%s matched %q, which is not an origin", norm, origin)
		}
		if i := strings.Index(norm, "*."); i >= 0 {
			// The wildcard's own domain, with the pattern's port, must not match.
			apex := norm[:i] + norm[i+2:]
			if p.Match(apex) {
				t.Fatalf("%s matches its apex %q", norm, apex)
			}
		}
		if hasPort(norm, scheme) != hasPort(strings.ToLower(origin), scheme) {
			t.Fatalf("%s matched %q: port differs", norm, origin)
		}
	})
}

// hasPort reports whether origin names a port other than scheme's default.
func hasPort(origin, scheme string) bool {
	rest := origin[len(scheme)+3:]
	i := strings.LastIndexByte(rest, ':')
	if i < 0 || strings.HasSuffix(rest, "]") {
		return false
	}
	port := rest[i+1:]
	return !(scheme == "https" && port == "443" || scheme == "http" && port == "80" || scheme == "wss" && port == "443" || scheme == "ws" && port == "80")
}
