package route_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

func TestResolveClient(t *testing.T) {
	// (An IPv4-mapped entry is the IPv4 range it maps: ::ffff:0:0/96 would
	// trust every IPv4 peer.)
	lb := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // Host
		via     bool
	}{
		{"untrusted peer: headers ignored", "203.0.113.5:1000", []string{"1.2.3.4"}, lb, "203.0.113.5", false},
		{"nothing trusted", "10.0.0.1:1000", []string{"1.2.3.4"}, nil, "10.0.0.1", false},
		{"trusted peer, one hop", "10.0.0.1:1000", []string{"198.51.100.7"}, lb, "198.51.100.7", true},
		{"right-most untrusted wins", "10.0.0.1:1000", []string{"6.6.6.6, 198.51.100.7, 10.0.0.2"}, lb, "198.51.100.7", true},
		{"several header lines", "10.0.0.1:1000", []string{"6.6.6.6", "198.51.100.7, 10.9.9.9"}, lb, "198.51.100.7", true},
		{"garbage stops the walk", "10.0.0.1:1000", []string{"6.6.6.6, bogus, 10.0.0.3"}, lb, "10.0.0.3", true},
		{"all trusted: left-most", "10.0.0.1:1000", []string{"10.0.0.9, 10.0.0.8"}, lb, "10.0.0.9", true},
		{"trusted peer, no header", "10.0.0.1:1000", nil, lb, "10.0.0.1", true},
		{"mapped entry unmapped", "10.0.0.1:1000", []string{"::ffff:198.51.100.8"}, lb, "198.51.100.8", true},
		{"mapped trusted hop skipped", "10.0.0.1:1000", []string{"198.51.100.9, ::ffff:10.0.0.2"}, lb, "198.51.100.9", true},
		{"ipv6 peer", "[2001:db8::1]:443", nil, lb, "2001:db8::1", false},
		{"not an IP", "unix-socket-peer", []string{"1.2.3.4"}, lb, "unix-socket-peer", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := request.ResolveClient(r, c.trusted)
			if got.Host != c.want || got.ViaTrustedProxy != c.via {
				t.Fatalf("got %+v, want host %q via %v", got, c.want, c.via)
			}
			if a, err := netip.ParseAddr(c.want); err == nil && got.Addr != a {
				t.Errorf("Addr = %v, want %v", got.Addr, a)
			}
		})
	}
}

// TestClientOfFollowsTheTable: inside a table the table's list decides,
// whatever list the caller passes; a new table (a reload) decides anew.
func TestClientOfFollowsTheTable(t *testing.T) {
	lb := netip.MustParsePrefix("10.0.0.0/8")
	var got request.Client
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = request.ClientOf(r, []netip.Prefix{lb}) // a stale list baked in somewhere
	})
	send := func(tbl *route.Table) request.Client {
		r := httptest.NewRequest("GET", "/x", nil)
		r.RemoteAddr = "10.1.1.1:5000"
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		tbl.ServeHTTP(httptest.NewRecorder(), r)
		return got
	}
	untrusting, _ := route.NewTable([]route.Route{{Route: spec.Route{Name: "x", PathPrefix: "/"}, Handler: h}})
	if c := send(untrusting); c.Host != "10.1.1.1" || c.ViaTrustedProxy {
		t.Errorf("table trusting nothing: %+v", c)
	}
	trusting, _ := route.NewTable([]route.Route{{Route: spec.Route{Name: "x", PathPrefix: "/"}, Handler: h}}, route.WithTrustedProxies(lb))
	if c := send(trusting); c.Host != "198.51.100.7" || !c.ViaTrustedProxy {
		t.Errorf("table trusting the peer: %+v", c)
	}
	if l := trusting.TrustedProxies(); len(l) != 1 || l[0] != lb {
		t.Errorf("TrustedProxies() = %v", l)
	}

	// No table: the caller's list; TrustProxies middleware: its list.
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "10.1.1.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	if c := request.ClientOf(r, nil); c.Host != "10.1.1.1" {
		t.Errorf("no table, nothing trusted: %+v", c)
	}
	if c := request.ClientOf(r, []netip.Prefix{lb}); c.Host != "198.51.100.7" {
		t.Errorf("no table, explicit list: %+v", c)
	}
	request.TrustProxies(lb)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = request.ClientOf(r, nil)
	})).ServeHTTP(httptest.NewRecorder(), r)
	if got.Host != "198.51.100.7" {
		t.Errorf("behind TrustProxies: %+v", got)
	}
}
