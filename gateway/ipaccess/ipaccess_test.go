package ipaccess_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/ipaccess"
)

func rule(t *testing.T, allow, deny []string) ipaccess.Rule {
	t.Helper()
	r, err := ipaccess.ParseRule(ipaccess.Lists{Allow: allow, Deny: deny})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAdmits(t *testing.T) {
	office := rule(t, []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}, []string{"10.9.0.0/16"})
	blocklist := rule(t, nil, []string{"198.51.100.0/24", "::ffff:203.0.113.0/120"})
	for _, tc := range []struct {
		r    ipaccess.Rule
		addr string
		want bool
	}{
		{office, "10.1.2.3", true},
		{office, "10.9.1.1", false}, // denied inside the allowed range
		{office, "11.0.0.1", false},
		{office, "192.0.2.7", true},
		{office, "192.0.2.8", false},
		{office, "2001:db8::1", true},
		{office, "2001:db9::1", false},
		{office, "::ffff:10.1.2.3", true},  // a dual-stack listener's IPv4 peer
		{office, "::ffff:10.9.0.1", false}, // denied the same way
		{office, "fe80::1%eth0", false},
		{blocklist, "198.51.100.9", false},
		{blocklist, "203.0.113.200", false}, // written IPv4-mapped
		{blocklist, "::ffff:198.51.100.9", false},
		{blocklist, "198.51.101.1", true},
		{blocklist, "2001:db8::1", true},
		{ipaccess.Rule{}, "198.51.100.9", true},
	} {
		if got := tc.r.Admits(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%+v admits %s = %v, want %v", tc.r, tc.addr, got, tc.want)
		}
	}
	if office.Admits(netip.Addr{}) || blocklist.Admits(netip.Addr{}) {
		t.Error("an unknown address was admitted by a rule that restricts")
	}
	if !(ipaccess.Rule{}).Admits(netip.Addr{}) {
		t.Error("the zero rule refused an unknown address")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		l    ipaccess.Lists
		want string
	}{
		{ipaccess.Lists{Allow: []string{"10.0.0.0/8", "10.0.0.0/33"}}, "allow[1]: \"10.0.0.0/33\" is not a prefix"},
		{ipaccess.Lists{Deny: []string{"example.com"}}, "deny[0]: \"example.com\" is not an address or prefix"},
		{ipaccess.Lists{Allow: []string{"10.1.2.3/8"}}, "write 10.0.0.0/8"},
		{ipaccess.Lists{Allow: []string{" 10.0.0.1"}}, "allow[0]"},
		{ipaccess.Lists{Allow: []string{""}}, "allow[0]"},
		{ipaccess.Lists{Allow: []string{"fe80::1%eth0"}}, "zone"},
	} {
		_, err := ipaccess.ParseRule(tc.l)
		var ee *ipaccess.EntryError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ee) {
			t.Errorf("%+v: %v, want an EntryError with %q", tc.l, err, tc.want)
		}
	}
}

// TestMiddleware: a real server behind the middleware; the client address
// is the TCP peer (loopback), or the one a trusted proxy names.
func TestMiddleware(t *testing.T) {
	reached := 0
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; _, _ = io.WriteString(w, "ok") })
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	get := func(mw func(http.Handler) http.Handler, xff string) int {
		t.Helper()
		srv := httptest.NewServer(mw(backend))
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusForbidden && (resp.Header.Get("Content-Type") != "application/problem+json" || strings.Contains(string(b), "127.0.0.1")) {
			t.Errorf("403 %q %s: want a problem body without the address", resp.Header.Get("Content-Type"), b)
		}
		return resp.StatusCode
	}
	onlyOffice := ipaccess.Middleware(rule(t, []string{"10.0.0.0/8"}, nil))
	if got := get(onlyOffice, ""); got != http.StatusForbidden {
		t.Errorf("loopback peer outside allow: %d, want 403", got)
	}
	if got := get(onlyOffice, "10.1.1.1"); got != http.StatusForbidden {
		t.Errorf("an untrusted peer's X-Forwarded-For was believed: %d", got)
	}
	behindProxy := ipaccess.Middleware(rule(t, []string{"10.0.0.0/8"}, nil), ipaccess.WithTrustedProxies(loopback))
	if got := get(behindProxy, "10.1.1.1"); got != http.StatusOK {
		t.Errorf("a trusted proxy's client in allow: %d, want 200", got)
	}
	if got := get(behindProxy, "11.1.1.1"); got != http.StatusForbidden {
		t.Errorf("a trusted proxy's client outside allow: %d, want 403", got)
	}
	denyLoopback := ipaccess.Middleware(rule(t, nil, []string{"127.0.0.1"}))
	if got := get(denyLoopback, ""); got != http.StatusForbidden {
		t.Errorf("denied peer: %d, want 403", got)
	}
	if reached != 1 {
		t.Errorf("the backend was reached %d times, want 1 (only the admitted request)", reached)
	}
}

// FuzzParsePrefix: whatever is accepted is masked, never IPv4-mapped, and
// admits its own address.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4/33", "::/0", "0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ipaccess.ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("%q parsed as %v", s, p)
		}
		if !(ipaccess.Rule{Allow: []netip.Prefix{p}}).Admits(p.Addr()) {
			t.Fatalf("%v does not admit its own address", p)
		}
		if (ipaccess.Rule{Deny: []netip.Prefix{p}}).Admits(p.Addr()) {
			t.Fatalf("deny %v admits its own address", p)
		}
	})
}
