package shadow_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/mirror"
	"github.com/gatescale/gatescale/gateway/shadow"
	"github.com/gatescale/gatescale/gateway/spec"
)

var (
	apiKey    = &spec.RouteAuth{Methods: []string{"api_key"}}
	anonymous = &spec.RouteAuth{Methods: []string{"api_key"}, Anonymous: true}
)

// catchAll is the anonymous route in front of the shared upstream.
func catchAll() spec.Route { return spec.Route{Name: "public", PathPrefix: "/", Upstream: "app"} }

// admin is the protected route.
func admin() spec.Route {
	return spec.Route{Name: "admin", PathPrefix: "/admin", Upstream: "app", Auth: apiKey}
}

type want struct {
	via, exposed string
	n            shadow.Normalization
	path         string // the example request path, if it is to be checked
	missing      shadow.Protection
}

func TestFind(t *testing.T) {
	with := func(r spec.Route, f func(*spec.Route)) spec.Route { f(&r); return r }
	tests := []struct {
		name   string
		routes []spec.Route
		ups    map[string]spec.Upstream
		only   []shadow.Normalization
		want   []want
	}{
		{
			name:   "case: catch-all reaches /ADMIN",
			routes: []spec.Route{admin(), catchAll()},
			only:   []shadow.Normalization{shadow.Case},
			want:   []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authentication}},
		},
		{
			name:   "case: case_insensitive on the protected route closes it",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.CaseInsensitive = true }), catchAll()},
			only:   []shadow.Normalization{shadow.Case},
		},
		{
			name:   "trailing slash: exact path /admin, /admin/ goes to the catch-all",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.PathPrefix, r.Path = "", "/admin" }), catchAll()},
			only:   []shadow.Normalization{shadow.TrailingSlash},
			want:   []want{{"public", "admin", shadow.TrailingSlash, "/admin/", shadow.Authentication}},
		},
		{
			name:   "trailing slash: a prefix route matches /admin/ itself",
			routes: []spec.Route{admin(), catchAll()},
			only:   []shadow.Normalization{shadow.TrailingSlash},
		},
		{
			name:   "suffix: /admin.json goes to the catch-all",
			routes: []spec.Route{admin(), catchAll()},
			only:   []shadow.Normalization{shadow.Suffix},
			want:   []want{{"public", "admin", shadow.Suffix, "/admin.json", shadow.Authentication}},
		},
		{
			name:   "none: a stripped protected prefix is sent as is by the catch-all",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.StripPrefix = "/admin" }), catchAll()},
			only:   []shadow.Normalization{shadow.None},
			want:   []want{{"public", "admin", shadow.None, "/", shadow.Authentication}},
		},
		{
			name:   "strip prefix on the less-protected route: /pub/ADMIN reaches /admin",
			routes: []spec.Route{admin(), {Name: "pub", PathPrefix: "/pub", StripPrefix: "/pub", Upstream: "app"}},
			only:   []shadow.Normalization{shadow.Case},
			want:   []want{{"pub", "admin", shadow.Case, "/pub/ADMIN", shadow.Authentication}},
		},
		{
			// The gateway refuses, collapses or decodes these before
			// matching: the probes reach the protected route or nothing.
			name:   "neutralised by the gateway: percent-decoding, ;params, //, \\, trailing dot, dot segments, %2F",
			routes: []spec.Route{admin(), catchAll()},
			only: []shadow.Normalization{shadow.PercentDecode, shadow.MatrixParams, shadow.DoubleSlash,
				shadow.Backslash, shadow.TrailingDot, shadow.DotSegments, shadow.EncodedSlash},
		},
		{
			name:   "equal protection",
			routes: []spec.Route{admin(), with(catchAll(), func(r *spec.Route) { r.Auth = apiKey })},
		},
		{
			name:   "an anonymous-allowed auth is no authentication",
			routes: []spec.Route{admin(), with(catchAll(), func(r *spec.Route) { r.Auth = anonymous })},
			only:   []shadow.Normalization{shadow.Case},
			want:   []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authentication}},
		},
		{
			name: "different hosts",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.Hosts = []string{"admin.example.com"} }),
				with(catchAll(), func(r *spec.Route) { r.Hosts = []string{"www.example.com"} })},
		},
		{
			name:   "same host, one route on any host",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.Hosts = []string{"admin.example.com"} }), catchAll()},
			only:   []shadow.Normalization{shadow.Case},
			want:   []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authentication}},
		},
		{
			name:   "non-overlapping prefixes",
			routes: []spec.Route{admin(), {Name: "docs", PathPrefix: "/docs", Upstream: "app"}},
		},
		{
			name: "methods not overlapping",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.Methods = []string{"POST", "DELETE"} }),
				with(catchAll(), func(r *spec.Route) { r.Methods = []string{"GET", "HEAD"} })},
		},
		{
			name:   "different upstreams",
			routes: []spec.Route{admin(), with(catchAll(), func(r *spec.Route) { r.Upstream = "web" })},
			ups: map[string]spec.Upstream{"app": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}}},
				"web": {Instances: []spec.Instance{{Addr: "10.0.0.2:80"}}}},
		},
		{
			name:   "two upstream names for one backend",
			routes: []spec.Route{admin(), with(catchAll(), func(r *spec.Route) { r.Upstream = "web" })},
			ups: map[string]spec.Upstream{"app": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}}},
				"web": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}, {Addr: "10.0.0.2:80"}}}},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authentication}},
		},
		{
			// The catch-all's copies of /ADMIN reach the protected route's
			// upstream, with their side effects (the answer is discarded).
			name: "a mirror to the protected route's upstream",
			routes: []spec.Route{admin(), with(catchAll(), func(r *spec.Route) {
				r.Upstream = "web"
				r.Mirror = &mirror.Policy{Upstream: "app"}
			})},
			ups: map[string]spec.Upstream{"app": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}}},
				"web": {Instances: []spec.Instance{{Addr: "10.0.0.2:80"}}}},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authentication}},
		},
		{
			name:   "accepted by the protected route",
			routes: []spec.Route{with(admin(), func(r *spec.Route) { r.ShadowingAccepted = []string{"public"} }), catchAll()},
		},
		{
			name: "authorization: same authentication, fewer scopes",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) { r.Authorize = &spec.Authorize{Scopes: []string{"admin"}} }),
				with(catchAll(), func(r *spec.Route) { r.Auth = apiKey })},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authorization}},
		},
		{
			name: "authorization: a stricter rule covers",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) { r.Authorize = &spec.Authorize{Roles: []string{"ops", "dev"}} }),
				with(catchAll(), func(r *spec.Route) {
					r.Auth, r.Authorize = apiKey, &spec.Authorize{Roles: []string{"ops"}, Scopes: []string{"x"}}
				})},
		},
		{
			name: "lifecycle: a draft route behind a published catch-all",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) { r.Auth, r.Lifecycle = nil, &spec.Lifecycle{State: spec.LifecycleDraft} }),
				catchAll()},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Lifecycle}},
		},
		{
			name: "rate limits: a looser limit does not cover",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) {
					r.Auth, r.RateLimit = nil, []spec.RateLimitPolicy{{Rate: 5, Key: "ip"}}
				}),
				with(catchAll(), func(r *spec.Route) { r.RateLimit = []spec.RateLimitPolicy{{Rate: 100, Key: "ip"}} })},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Limits}},
		},
		{
			name: "rate limits: a shared policy covers",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) {
					r.Auth, r.RateLimit = nil, []spec.RateLimitPolicy{{Name: "site", Rate: 5, Key: "ip"}}
				}),
				with(catchAll(), func(r *spec.Route) { r.RateLimit = []spec.RateLimitPolicy{{Name: "site", Rate: 5, Key: "ip"}} })},
		},
		{
			name: "per-method authorization: the catch-all serves only the open method",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) {
					r.Authorize = &spec.Authorize{Methods: map[string]spec.AuthzRule{"GET": {}, "DELETE": {Roles: []string{"ops"}}}}
				}),
				with(catchAll(), func(r *spec.Route) { r.Auth, r.Methods = apiKey, []string{"GET"} })},
		},
		{
			name: "per-method authorization: DELETE through the catch-all",
			routes: []spec.Route{
				with(admin(), func(r *spec.Route) {
					r.Authorize = &spec.Authorize{Methods: map[string]spec.AuthzRule{"GET": {}, "DELETE": {Roles: []string{"ops"}}}}
				}),
				with(catchAll(), func(r *spec.Route) { r.Auth = apiKey })},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "admin", shadow.Case, "/ADMIN", shadow.Authorization}},
		},
		{
			name: "path parameters",
			routes: []spec.Route{
				{Name: "user", Path: "/users/{id:[0-9]+}", Upstream: "app", Auth: apiKey}, catchAll()},
			only: []shadow.Normalization{shadow.Case},
			want: []want{{"public", "user", shadow.Case, "/USERS/1", shadow.Authentication}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []shadow.Option{shadow.WithUpstreams(tc.ups)}
			if tc.only != nil {
				opts = append(opts, shadow.WithNormalizations(tc.only...))
			}
			found, err := shadow.Find(tc.routes, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range found {
				got = append(got, want{f.ViaRoute, f.ExposedRoute, f.Normalization, f.Path, f.Missing})
				if f.Fix == "" || !strings.Contains(f.Message(), f.ExposedRoute) || !strings.Contains(f.Message(), f.Path) {
					t.Errorf("message %q lacks the route, path or fix", f.Message())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%v\nwant\n%v", got, tc.want)
				for _, f := range found {
					t.Log(f.Message())
				}
			}
		})
	}
}

// The issue's configuration with every normalisation: letter case and the
// suffix reach /admin; the others are neutralised by the gateway itself.
func TestFindIssueConfiguration(t *testing.T) {
	found, err := shadow.Find([]spec.Route{admin(), catchAll()})
	if err != nil {
		t.Fatal(err)
	}
	var got []shadow.Normalization
	for _, f := range found {
		got = append(got, f.Normalization)
	}
	if want := []shadow.Normalization{shadow.Case, shadow.Suffix}; !slices.Equal(got, want) {
		t.Errorf("normalisations %v, want %v", got, want)
	}
	if len(found) > 0 && !strings.Contains(found[0].Fix, `set case_insensitive: true on route "admin"`) {
		t.Errorf("fix %q", found[0].Fix)
	}
}

func TestFindRefusesInvalidRoutes(t *testing.T) {
	if _, err := shadow.Find([]spec.Route{{Name: "a", Path: "/{x", Upstream: "u"}}); err == nil {
		t.Error("an invalid pattern was accepted")
	}
}

// TestLacksAddresses: a route lacks the address protection of another when
// it admits a client address the other refuses.
func TestLacksAddresses(t *testing.T) {
	r := func(allow, deny []string) *spec.Route {
		rt := &spec.Route{Name: "r", PathPrefix: "/", Upstream: "app"}
		if allow != nil || deny != nil {
			rt.IPAccess = &ipaccess.Lists{Allow: allow, Deny: deny}
		}
		return rt
	}
	l := func(s ...string) []string { return s }
	for _, tc := range []struct {
		name         string
		via, exposed *spec.Route
		lacks        bool
	}{
		{"neither restricts", r(nil, nil), r(nil, nil), false},
		{"exposed allows a range, via everyone", r(nil, nil), r(l("10.0.0.0/8"), nil), true},
		{"via allows a part of the range", r(l("10.1.0.0/16"), nil), r(l("10.0.0.0/8"), nil), false},
		{"via allows more than the range", r(l("10.0.0.0/8", "11.0.0.0/8"), nil), r(l("10.0.0.0/8"), nil), true},
		{"via's extra range is denied", r(l("10.0.0.0/8", "11.0.0.0/8"), l("11.0.0.0/8")), r(l("10.0.0.0/8"), nil), false},
		{"exposed denies, via does not", r(nil, nil), r(nil, l("10.9.0.0/16")), true},
		{"via denies a wider range", r(nil, l("10.0.0.0/8")), r(nil, l("10.9.0.0/16")), false},
		{"via allows nothing of the denied range", r(l("192.0.2.0/24"), nil), r(nil, l("10.9.0.0/16")), false},
		{"allow and deny, via inside and clear of the deny", r(l("10.1.0.0/16"), nil), r(l("10.0.0.0/8"), l("10.9.0.0/16")), false},
		{"allow and deny, via overlaps the deny", r(l("10.0.0.0/8"), nil), r(l("10.0.0.0/8"), l("10.9.0.0/16")), true},
		{"IPv4-mapped spelling of the same range", r(l("::ffff:10.0.0.0/104"), nil), r(l("10.0.0.0/8"), nil), false},
	} {
		got := shadow.Lacks(tc.via, tc.exposed, "GET")&shadow.Addresses != 0
		if got != tc.lacks {
			t.Errorf("%s: lacks addresses = %v, want %v", tc.name, got, tc.lacks)
		}
	}
	if s := (shadow.Authentication | shadow.Addresses).String(); s != "authentication, client addresses" {
		t.Errorf("String = %q", s)
	}
}

// TestFindAddressShadowing: an anonymous catch-all in front of an
// upstream that ignores case reaches the office-only route's paths from
// any address.
func TestFindAddressShadowing(t *testing.T) {
	office := spec.Route{Name: "reports", PathPrefix: "/reports", Upstream: "app", IPAccess: &ipaccess.Lists{Allow: []string{"10.0.0.0/8"}}}
	fs, err := shadow.Find([]spec.Route{office, catchAll()}, shadow.WithNormalizations(shadow.Case))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ViaRoute != "public" || fs[0].ExposedRoute != "reports" || fs[0].Missing != shadow.Addresses ||
		!strings.Contains(fs[0].Message(), "without the client addresses of route \"reports\"") {
		t.Fatalf("findings %+v, want public exposing reports by client addresses", fs)
	}
}
