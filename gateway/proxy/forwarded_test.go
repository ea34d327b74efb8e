package proxy

import (
	"net/http"
	"testing"
)

// TestForwardedElement: RFC 7239 values are tokens or quoted strings; a
// host with a port or a quote is quoted (and escaped), an IPv6 client is
// bracketed.
func TestForwardedElement(t *testing.T) {
	for _, c := range []struct{ remote, host, want string }{
		{"10.0.0.1:5000", "api.example", `for=10.0.0.1;host=api.example;proto=http`},
		{"10.0.0.1:5000", "api.example:8080", `for=10.0.0.1;host="api.example:8080";proto=http`},
		{"[2001:db8::1]:5000", "a", `for="[2001:db8::1]";host=a;proto=http`},
		{"10.0.0.1:5000", `ev"il\x`, `for=10.0.0.1;host="ev\"il\\x";proto=http`},
		{"10.0.0.1:5000", "", `for=10.0.0.1;proto=http`},
	} {
		r := &http.Request{RemoteAddr: c.remote, Host: c.host}
		if got := forwardedElement(r, "http"); got != c.want {
			t.Errorf("remote %s host %q: %s, want %s", c.remote, c.host, got, c.want)
		}
	}
}
