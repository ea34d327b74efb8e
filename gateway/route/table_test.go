package route_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	info := request.InfoFrom(r.Context())
	_, _ = w.Write([]byte(info.Route + " " + r.URL.EscapedPath()))
})

func TestNewTableRejectsBadRoutes(t *testing.T) {
	cases := []struct {
		name   string
		routes []route.Route
		want   string
	}{
		{"no name", []route.Route{{Route: spec.Route{Path: "/"}, Handler: ok}}, "routes[0].name: is required"},
		{"no path", []route.Route{{Route: spec.Route{Name: "a"}, Handler: ok}}, "one of path and path_prefix is required"},
		{"both paths", []route.Route{{Route: spec.Route{Name: "a", Path: "/a", PathPrefix: "/a"}, Handler: ok}}, "exclusive"},
		{"relative", []route.Route{{Route: spec.Route{Name: "a", Path: "a"}, Handler: ok}}, `routes[0].path: "a" must begin with /`},
		{"dup name", []route.Route{{Route: spec.Route{Name: "a", Path: "/a"}, Handler: ok}, {Route: spec.Route{Name: "a", Path: "/b"}, Handler: ok}}, `routes[1].name: "a" is already used by routes[0]`},
		{"bad method", []route.Route{{Route: spec.Route{Name: "a", Path: "/a", Methods: []string{"FETCH"}}, Handler: ok}}, `routes[0].methods[0]: "FETCH" is not a supported method`},
		{"bad host", []route.Route{{Route: spec.Route{Name: "a", Path: "/a", Hosts: []string{"a*.b"}}, Handler: ok}}, `routes[0].hosts[0]: "a*.b" is not a host name`},
		{"nil handler", []route.Route{{Route: spec.Route{Name: "a", Path: "/a"}}}, "routes[0]: has no handler"},
		{"bad pattern", []route.Route{{Route: spec.Route{Name: "a", Path: "/a/{id:[}"}, Handler: ok}}, `routes[0].path: pattern "/a/{id:[}": chi: invalid regexp`},
		{"same path twice", []route.Route{{Route: spec.Route{Name: "a", Path: "/a"}, Handler: ok}, {Route: spec.Route{Name: "b", Path: "/a", Methods: []string{"GET"}}, Handler: ok}}, `routes[1].path: GET /a is already routed by route "a"`},
		{"rewrite param", []route.Route{{Route: spec.Route{Name: "a", Path: "/a/{id}", Rewrite: "/b/{other}"}, Handler: ok}}, "uses {other}, which the path does not define"},
		{"rewrite unclosed", []route.Route{{Route: spec.Route{Name: "a", Path: "/a/{id}", Rewrite: "/b/{id"}, Handler: ok}}, "unclosed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := route.NewTable(c.routes)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFindAndServe(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "user", Path: "/users/{id}", Methods: []string{"GET"}}, Handler: ok},
		{Route: spec.Route{Name: "user-write", Path: "/users/{id}", Methods: []string{"PUT", "DELETE"}}, Handler: ok},
		{Route: spec.Route{Name: "api", PathPrefix: "/api/", StripPrefix: "/api"}, Handler: ok},
		{Route: spec.Route{Name: "host-api", Hosts: []string{"Example.COM"}, PathPrefix: "/api"}, Handler: ok},
		{Route: spec.Route{Name: "deep-wild", Hosts: []string{"*.eu.example.com"}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "wild", Hosts: []string{"*.example.com"}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "rw", Path: "/r/{a}/*", Rewrite: "/x/{a}/{*}"}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx := chi.NewRouteContext()
	find := []struct{ host, method, path, want string }{
		{"", "GET", "/users/1", "user"},
		{"", "PUT", "/users/1", "user-write"},
		{"", "POST", "/users/1", ""},
		{"", "GET", "/api", "api"},
		{"", "GET", "/api/x/y", "api"},
		{"", "GET", "/apix", ""},
		{"example.com", "GET", "/api/x", "host-api"},
		{"example.com:443", "GET", "/users/1", "user"}, // host trees include host-less routes
		{"a.example.com", "GET", "/anything", "wild"},
		{"a.eu.example.com", "GET", "/anything", "deep-wild"},
		{"example.com.", "GET", "/api", "host-api"},
		{"other.org", "GET", "/api", "api"},
	}
	for _, f := range find {
		got := tbl.Find(rctx, f.host, f.method, f.path)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != f.want {
			t.Errorf("Find(%q, %s %s) = %q, want %q", f.host, f.method, f.path, name, f.want)
		}
	}
	serve := []struct{ target, want string }{
		{"/api/v1/items", "api /v1/items"},
		{"/api", "api /"},
		{"/r/7/a/b%3Fc", "rw /x/7/a/b%3Fc"}, // an escape that is not unreserved stays escaped
	}
	for _, s := range serve {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", s.target, nil)
		req.Host = "test.local" // httptest's default, example.com, has routes of its own here
		tbl.ServeHTTP(rec, req)
		if rec.Body.String() != s.want {
			t.Errorf("GET %s served %q, want %q", s.target, rec.Body.String(), s.want)
		}
	}
}

// TestHostSpellings: a route host is matched the way a Host header can
// spell it. Validation accepts a fully qualified name with its final dot
// ("api.example.com.") and a bare IPv6 address ("::1"); a client sends the
// name with or without the dot and the address in brackets, with or
// without a port, as net/http and curl write them.
func TestHostSpellings(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "fqdn", Hosts: []string{"api.example.com."}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "both", Hosts: []string{"b.example.com", "B.example.com."}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "wild-fqdn", Hosts: []string{"*.w.example.com."}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "v6", Hosts: []string{"2001:DB8::1"}, PathPrefix: "/"}, Handler: ok},
		{Route: spec.Route{Name: "fallback", PathPrefix: "/"}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx := chi.NewRouteContext()
	for _, c := range []struct{ host, want string }{
		{"api.example.com", "fqdn"},
		{"api.example.com.", "fqdn"},
		{"API.Example.com:8443", "fqdn"},
		{"b.example.com.", "both"},
		{"a.w.example.com", "wild-fqdn"},
		{"a.w.example.com.:80", "wild-fqdn"},
		{"[2001:db8::1]", "v6"},
		{"[2001:db8::1]:8080", "v6"},
		{"other.example.com", "fallback"},
	} {
		name := ""
		if got := tbl.Find(rctx, c.host, "GET", "/x"); got != nil {
			name = got.Name
		}
		if name != c.want {
			t.Errorf("Host %q matched route %q, want %q", c.host, name, c.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct{ path, raw, wantPath string }{
		{"/a//b", "", "/a/b"},
		{"/a/./b/", "", "/a/b/"},
		{"/a/../../b", "", "/b"},
		{"/a/b/..", "", "/a/"},
		{"/", "", "/"},
	}
	for _, c := range cases {
		u := &url.URL{Path: c.path, RawPath: c.raw}
		if !route.CleanPath(u) || u.Path != c.wantPath {
			t.Errorf("CleanPath(%q) = %q, want %q", c.path, u.Path, c.wantPath)
		}
	}
	// An encoded slash next to a dot segment: raw and decoded disagree.
	u := &url.URL{Path: "/a/b/../c", RawPath: "/a%2Fb/../c"}
	if route.CleanPath(u) {
		t.Errorf("CleanPath accepted an ambiguous path, giving %q", u.Path)
	}
}

func BenchmarkFind(b *testing.B) {
	var routes []route.Route
	for _, p := range []string{"/users/{id}", "/orders/{id}/items", "/catalog/*", "/a", "/b", "/c/{x}/{y}"} {
		routes = append(routes, route.Route{Route: spec.Route{Name: p, Path: p}, Handler: ok})
	}
	tbl, err := route.NewTable(routes)
	if err != nil {
		b.Fatal(err)
	}
	rctx := chi.NewRouteContext()
	b.ReportAllocs()
	for b.Loop() {
		if tbl.Find(rctx, "api.example.com", "GET", "/orders/42/items") == nil {
			b.Fatal("no match")
		}
	}
}

// Mounted on a chi router, the table matches the path below the mount
// point, and its routes and upstream see that path — as chi sub-routers do.
func TestMountedUnderChi(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.URL.EscapedPath()))
	})
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "users", PathPrefix: "/users"}, Handler: echo},
		{Route: spec.Route{Name: "files", Path: "/files/{name}"}, Handler: echo},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/api", tbl)
	outer := chi.NewRouter()
	outer.Mount("/v1", r)
	for _, c := range []struct {
		router http.Handler
		target string
		code   int
		body   string
	}{
		{r, "/api/users/1", 200, "/users/1"},
		{r, "/api/users", 200, "/users"},
		{r, "/api/files/a%2Fb", 400, ""}, // an encoded slash is refused below a mount too
		{r, "/api/files/a%20b", 200, "/files/a%20b"},
		{r, "/users/1", 404, ""},
		{r, "/api/api/users/1", 404, ""},
		{outer, "/v1/api/users/7", 200, "/users/7"},
	} {
		rec := httptest.NewRecorder()
		c.router.ServeHTTP(rec, httptest.NewRequest("GET", c.target, nil))
		if rec.Code != c.code || c.body != "" && rec.Body.String() != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.target, rec.Code, rec.Body.String(), c.code, c.body)
		}
	}
}

// TestWhatTheHandlerSees: the matched pattern and named parameters are set as
// net/http would set them, the catch-all only in chi's route context, and
// chi's 404 and 405 answers are unchanged.
func TestWhatTheHandlerSees(t *testing.T) {
	var pattern, id, pathID, star, pathStar, method string
	see := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern, id, pathID = r.Pattern, chi.URLParam(r, "id"), r.PathValue("id")
		star, pathStar = chi.URLParam(r, "*"), r.PathValue("*")
		method = chi.RouteContext(r.Context()).RouteMethod
	})
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "user", Path: "/users/{id}", Methods: []string{"GET"}}, Handler: see},
		{Route: spec.Route{Name: "files", PathPrefix: "/files"}, Handler: see},
	})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec
	}
	serve("GET", "/users/42")
	if pattern != "/users/{id}" || id != "42" || pathID != "42" || method != "GET" {
		t.Errorf("named: pattern %q, URLParam %q, PathValue %q, method %q", pattern, id, pathID, method)
	}
	serve("POST", "/files/a/b.txt")
	if pattern != "/files/*" || star != "a/b.txt" || pathStar != "" {
		t.Errorf("catch-all: pattern %q, URLParam %q, PathValue %q", pattern, star, pathStar)
	}
	if rec := serve("GET", "/nowhere"); rec.Code != http.StatusNotFound {
		t.Errorf("unmatched: %d", rec.Code)
	}
	if rec := serve("DELETE", "/users/42"); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("wrong method: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestServeAllocations: matching a prefix route and calling its handler costs
// the request copy and its context node, nothing per URL parameter.
func TestServeAllocations(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/api"}, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/items/7", nil)
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(1000, func() { tbl.ServeHTTP(w, req) })
	limit := 2.0
	if raceEnabled {
		limit++ // the pooled chi route context, dropped by the race detector's sync.Pool
	}
	if allocs > limit {
		t.Errorf("%.1f allocations per request, want at most %.0f (request copy, context node)", allocs, limit)
	}
}

// TestPathValueDecoded: Request.PathValue is net/http's API, and a handler
// or middleware reading it (a tenant id, a user id) gets the unescaped value
// from net/http's ServeMux whatever the spelling of the path. The table must
// give the same: "/t/a%40b/x" and "/t/a@b/x" are one tenant, "a@b", even
// though chi matched the first on its escaped form.
func TestPathValueDecoded(t *testing.T) {
	tenant := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.PathValue("tenant")))
	})
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "t", Path: "/t/{tenant}/x"}, Handler: tenant},
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := http.NewServeMux() // the reference behaviour
	ref.Handle("/t/{tenant}/x", tenant)
	for _, target := range []string{"/t/a@b/x", "/t/a%40b/x", "/t/a%3Fb/x", "/t/caf%C3%A9/x", "/t/a%20b/x", "/t/a%2Bb/x"} {
		want := httptest.NewRecorder()
		ref.ServeHTTP(want, httptest.NewRequest("GET", target, nil))
		got := httptest.NewRecorder()
		tbl.ServeHTTP(got, httptest.NewRequest("GET", target, nil))
		if got.Code != 200 || got.Body.String() != want.Body.String() {
			t.Errorf("GET %s: PathValue(\"tenant\") = %q (%d), net/http's ServeMux gives %q", target, got.Body.String(), got.Code, want.Body.String())
		}
	}
}

// TestHeadFollowsGet: every general-purpose server must support HEAD where
// it supports GET (RFC 9110 9.1), and net/http's ServeMux serves HEAD with
// a GET pattern. A route for GET serves HEAD too, with the same policies,
// unless another route claims HEAD for that path.
func TestHeadFollowsGet(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "read", Path: "/items/{id}", Methods: []string{"GET"}}, Handler: ok},
		{Route: spec.Route{Name: "write", Path: "/items/{id}", Methods: []string{"PUT"}}, Handler: ok},
		{Route: spec.Route{Name: "docs", PathPrefix: "/docs", Methods: []string{"get"}}, Handler: ok},
		{Route: spec.Route{Name: "page", Path: "/page", Methods: []string{"GET"}}, Handler: ok},
		{Route: spec.Route{Name: "page-head", Path: "/page", Methods: []string{"HEAD"}}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, target, want string }{
		{"HEAD", "/items/1", "read"},
		{"HEAD", "/docs/a/b", "docs"},
		{"HEAD", "/page", "page-head"}, // its own HEAD route wins
		{"GET", "/page", "page"},
	} {
		req := httptest.NewRequest(c.method, c.target, nil)
		req.Host = "test.local"
		if got := tbl.Match(req); got == nil || got.Name != c.want {
			t.Errorf("%s %s matched %v, want route %q", c.method, c.target, got, c.want)
		}
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("%s %s: %d, want 200", c.method, c.target, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	tbl.ServeHTTP(rec, httptest.NewRequest("POST", "/items/1", nil))
	if allow := rec.Header().Get("Allow"); rec.Code != 405 || allow != "GET, HEAD, PUT" {
		t.Errorf("POST /items/1: %d, Allow %q; want 405 and Allow \"GET, HEAD, PUT\"", rec.Code, allow)
	}
}

// TestMatchAgreesWithServe: Match says which route a request would be
// served by, so it must see the path as ServeHTTP does: normalised, in the
// lower case a case-insensitive route serves, escaped where chi routes on
// the escaped form.
func TestMatchAgreesWithServe(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "files", Path: "/Files/{name}", CaseInsensitive: true}, Handler: ok},
		{Route: spec.Route{Name: "tenant", Path: "/t/{tenant}/x"}, Handler: ok},
		{Route: spec.Route{Name: "api", PathPrefix: "/api"}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/api//v1/./items", "/x/../api/v1", "/FILES/Report.pdf", "/files/a%2Bb", "/t/a%40b/x", "/t/a%2Fb/x", "/nowhere"} {
		req := httptest.NewRequest("GET", target, nil)
		req.Host = "test.local"
		served := ""
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, req)
		if rec.Code == 200 {
			served, _, _ = strings.Cut(rec.Body.String(), " ")
		}
		matched := ""
		if rt := tbl.Match(req); rt != nil {
			matched = rt.Name
		}
		if matched != served {
			t.Errorf("GET %s: Match says %q, ServeHTTP served %q", target, matched, served)
		}
	}
}
