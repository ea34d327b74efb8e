package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCORSPreflight: a preflight to a route that does not list OPTIONS is
// answered by the route's CORS policy (the one of the route serving the
// method it asks about), before authentication, and never reaches the
// backend; a plain OPTIONS still gets 405; refusals carry the CORS
// headers.
func TestCORSPreflight(t *testing.T) {
	users, admin := newBackend(t, "users"), newBackend(t, "admin")
	srv, _ := serveYAML(t, fmt.Sprintf(`
consumers:
  - id: app
    api_keys: [{id: app-1, sha256: "0000000000000000000000000000000000000000000000000000000000000000"}]
cors:
  allow_origins: ["https://*.example.com"]
upstreams:
  users: {instances: [%q]}
  admin: {instances: [%q]}
routes:
  - name: read-users
    path: /users
    methods: [GET]
    upstream: users
  - name: write-users
    path: /users
    methods: [PUT]
    upstream: users
    auth: {methods: [api_key]}
    cors:
      allow_origins: ["https://app.example.com"]
      allow_methods: [PUT]
      allow_headers: [X-API-Key, Content-Type]
      allow_credentials: true
      max_age: 10m
  - name: admin
    path: /admin
    methods: [GET]
    upstream: admin
`, users.addr(), admin.addr()))

	preflight := func(path, origin, method string) response {
		return do(t, http.MethodOptions, srv+path, nil, "Origin", origin, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", "x-api-key")
	}
	r := preflight("/users", "https://app.example.com", "PUT")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.header.Get("Access-Control-Allow-Methods") != "PUT" || r.header.Get("Access-Control-Allow-Headers") != "X-Api-Key, Content-Type" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("PUT preflight (write-users' policy, before its auth): %d %v", r.code, r.header)
	}
	if got := r.header.Get("Vary"); got != "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" {
		t.Errorf("preflight Vary %q", got)
	}
	// The GET route's policy is the top-level one: another origin, and no
	// request headers allowed.
	if r := preflight("/users", "https://other.example.com", "PUT"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("PUT preflight from an origin only the GET route allows: %v", r.header)
	}
	r = do(t, http.MethodOptions, srv+"/users", nil, "Origin", "https://other.example.com", "Access-Control-Request-Method", "GET")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://other.example.com" {
		t.Errorf("GET preflight (the top-level policy): %d %v", r.code, r.header)
	}
	if r := preflight("/users", "https://evil.example.net", "PUT"); r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from a disallowed origin: %d %v, want 204 without CORS headers", r.code, r.header)
	}
	// A method no route serves at the path: no route's policy applies.
	if r := preflight("/users", "https://app.example.com", "DELETE"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("preflight for an unrouted method: %d, want 405", r.code)
	}
	// OPTIONS that is not a preflight: 405 with Allow, as before.
	r = do(t, http.MethodOptions, srv+"/users", nil, "Origin", "https://app.example.com")
	if r.code != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "PUT") {
		t.Errorf("plain OPTIONS: %d Allow %q, want 405 with the routed methods", r.code, r.header.Get("Allow"))
	}
	if n := users.hits.Load(); n != 0 {
		t.Errorf("the users backend saw %d requests, want 0: preflights are the gateway's", n)
	}

	// The actual PUT is authenticated; its refusal is readable by the page.
	r = do(t, http.MethodPut, srv+"/users", strings.NewReader("{}"), "Origin", "https://app.example.com")
	if r.code != http.StatusUnauthorized || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(r.header.Get("Vary"), "Origin") {
		t.Errorf("unauthenticated PUT: %d %v, want 401 with the CORS headers", r.code, r.header)
	}
	r = do(t, http.MethodGet, srv+"/admin", nil, "Origin", "https://x.example.com")
	if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://x.example.com" {
		t.Errorf("GET /admin (the top-level policy): %d %v", r.code, r.header)
	}
	r = do(t, http.MethodGet, srv+"/admin", nil, "Origin", "http://x.example.com")
	if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.body != "admin /admin" {
		t.Errorf("GET /admin from another scheme: %d %v %q, want the answer without CORS headers", r.code, r.header, r.body)
	}
	if n := admin.hits.Load(); n != 2 {
		t.Errorf("the admin backend saw %d requests, want 2", n)
	}
}

// TestCORSCachedRoute: a cached answer filled by one origin's request is
// served to another origin with that origin's CORS headers (or none),
// never the first one's; the backend is called once.
func TestCORSCachedRoute(t *testing.T) {
	b := newBackend(t, "users")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		// An upstream that does its own CORS: the route's policy replaces it.
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		io.WriteString(w, "users")
	})
	srv, _ := serveYAML(t, fmt.Sprintf(`
upstreams:
  users: {instances: [%q]}
routes:
  - name: users
    path: /users
    upstream: users
    cache: {ttl: 1m}
    cors:
      allow_origins: ["https://a.example.com", "https://b.example.com"]
      expose_headers: [X-Cache]
`, b.addr()))
	for _, tc := range []struct{ origin, want string }{
		{"https://a.example.com", "https://a.example.com"},
		{"https://b.example.com", "https://b.example.com"},
		{"https://evil.example.com", ""},
		{"", ""},
		{"https://a.example.com", "https://a.example.com"},
	} {
		r := do(t, http.MethodGet, srv+"/users", nil, "Origin", tc.origin)
		if r.code != 200 || r.body != "users" {
			t.Fatalf("origin %q: %d %q", tc.origin, r.code, r.body)
		}
		if got := r.header.Values("Access-Control-Allow-Origin"); strings.Join(got, ",") != tc.want {
			t.Errorf("origin %q: ACAO %q, want %q", tc.origin, got, tc.want)
		}
		if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
			t.Errorf("origin %q: Vary %q lacks Origin", tc.origin, r.header.Values("Vary"))
		}
	}
	if n := b.hits.Load(); n != 1 {
		t.Errorf("the backend was called %d times, want 1 (one cached answer for every origin)", n)
	}
}

// TestCORSBehindLifecycleAndIPAccess: a preflight gets what any request
// gets from the route's lifecycle and client-address rules — a draft route
// stays a 404, a refused address a 403 — rather than a CORS answer that
// would tell who asks that the route exists.
func TestCORSBehindLifecycleAndIPAccess(t *testing.T) {
	b := newBackend(t, "b")
	srv, _ := serveYAML(t, fmt.Sprintf(`
cors:
  allow_origins: ["https://app.example.com"]
  allow_methods: [PUT]
upstreams:
  b: {instances: [%q]}
routes:
  - name: draft
    path: /draft
    methods: [PUT]
    upstream: b
    lifecycle: {state: draft}
  - name: private
    path: /private
    methods: [PUT]
    upstream: b
    ip_access: {deny: [127.0.0.0/8, "::1"]}
  - name: open
    path: /open
    methods: [PUT]
    upstream: b
`, b.addr()))
	for path, want := range map[string]int{"/draft": http.StatusNotFound, "/private": http.StatusForbidden, "/open": http.StatusNoContent} {
		r := do(t, http.MethodOptions, srv+path, nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT")
		if r.code != want || (want != http.StatusNoContent) != (r.header.Get("Access-Control-Allow-Origin") == "") {
			t.Errorf("preflight %s: %d ACAO %q, want %d", path, r.code, r.header.Get("Access-Control-Allow-Origin"), want)
		}
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("the backend saw %d preflights, want 0", n)
	}
}

// TestCachedUpstreamCORSVary: on a cached route without a CORS policy, an
// upstream that does CORS itself and says Vary: Origin gets one cached
// answer per origin: the cache never hands one origin's
// Access-Control-Allow-Origin to another.
func TestCachedUpstreamCORSVary(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Origin")
		if o := r.Header.Get("Origin"); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
		}
		io.WriteString(w, "data")
	})
	srv, _ := serveYAML(t, fmt.Sprintf(`
upstreams:
  b: {instances: [%q]}
routes:
  - {name: data, path: /data, upstream: b, cache: {ttl: 1m}}
`, b.addr()))
	for i, origin := range []string{"https://a.example", "https://b.example", "https://a.example", "https://b.example"} {
		r := do(t, http.MethodGet, srv+"/data", nil, "Origin", origin)
		if got := r.header.Get("Access-Control-Allow-Origin"); r.code != 200 || got != origin {
			t.Errorf("request %d from %s: %d ACAO %q", i, origin, r.code, got)
		}
	}
	if n := b.hits.Load(); n != 2 {
		t.Errorf("the backend was called %d times, want 2 (one per origin, then hits)", n)
	}
}

// TestCORSMethodsDefault: a policy without allow_methods allows the
// methods of the route it is on, so a PUT route under the top-level cors
// answers its PUT preflights (with GET, HEAD, POST only, browsers were
// refused every PUT); a route of every method allows the methods a page
// can send.
func TestCORSMethodsDefault(t *testing.T) {
	b := newBackend(t, "b")
	srv, _ := serveYAML(t, fmt.Sprintf(`
cors:
  allow_origins: ["https://app.example.com"]
upstreams:
  b: {instances: [%q]}
routes:
  - {name: write, path: /items, methods: [PUT, DELETE], upstream: b}
  - {name: any, path: /any, upstream: b}
  - {name: own, path: /own, methods: [PUT, PATCH], upstream: b, cors: {allow_origins: ["https://app.example.com"], allow_methods: [PATCH]}}
`, b.addr()))
	for _, tc := range []struct{ path, method, methods string }{
		{"/items", "PUT", "PUT, DELETE"},
		{"/items", "DELETE", "PUT, DELETE"},
		{"/any", "PATCH", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
		{"/own", "PATCH", "PATCH"},
		{"/own", "PUT", ""}, // allow_methods written: only those
	} {
		r := do(t, http.MethodOptions, srv+tc.path, nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", tc.method)
		wantOrigin := "https://app.example.com"
		if tc.methods == "" {
			wantOrigin = ""
		}
		if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != wantOrigin ||
			r.header.Get("Access-Control-Allow-Methods") != tc.methods {
			t.Errorf("%s preflight of %s: %d ACAO %q methods %q, want ACAO %q methods %q", tc.path, tc.method, r.code,
				r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Methods"), wantOrigin, tc.methods)
		}
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("the backend saw %d preflights, want 0", n)
	}
}

// TestCORSDisabledOnRoute: cors: {disabled: true} keeps the top-level cors
// off a route, e.g. one whose upstream does CORS itself: its answers pass
// as the upstream wrote them, and a preflight goes to whichever route
// serves OPTIONS (here the upstream's own handling).
func TestCORSDisabledOnRoute(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream.example")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "PUT")
			w.WriteHeader(http.StatusOK)
			return
		}
		io.WriteString(w, "own")
	})
	srv, _ := serveYAML(t, fmt.Sprintf(`
cors:
  allow_origins: ["https://app.example.com"]
upstreams:
  b: {instances: [%q]}
routes:
  - {name: own, path: /own, methods: [GET, PUT, OPTIONS], upstream: b, cors: {disabled: true}}
  - {name: default, path: /default, methods: [GET], upstream: b}
`, b.addr()))
	r := do(t, http.MethodGet, srv+"/own", nil, "Origin", "https://app.example.com")
	if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://upstream.example" || strings.Contains(r.header.Get("Vary"), "Origin") {
		t.Errorf("GET /own: %d %v, want the upstream's own CORS headers", r.code, r.header)
	}
	r = do(t, http.MethodOptions, srv+"/own", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT")
	if r.code != 200 || r.header.Get("Access-Control-Allow-Methods") != "PUT" {
		t.Errorf("preflight /own: %d %v, want the upstream's answer", r.code, r.header)
	}
	r = do(t, http.MethodGet, srv+"/default", nil, "Origin", "https://app.example.com")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("GET /default: %v, want the top-level policy", r.header)
	}
	if n := b.hits.Load(); n != 3 {
		t.Errorf("the backend saw %d requests, want 3", n)
	}
}

// TestCORSUpgrade: a WebSocket-style upgrade through a route with a CORS
// policy and response header rules still reaches the upstream's hijacked
// connection (both writers unwrap for http.ResponseController), and the
// bytes flow both ways.
func TestCORSUpgrade(t *testing.T) {
	b := newBackend(t, "ws")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
	srv, _ := serveYAML(t, fmt.Sprintf(`
upstreams:
  ws: {instances: [%q]}
routes:
  - name: ws
    path: /ws
    upstream: ws
    cors: {allow_origins: ["https://app.example.com"]}
    headers: {response: {set: {X-Frame-Options: DENY}}}
`, b.addr()))
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second)) // a bound on a hang, not a timing assertion
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade response: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Fatalf("over the upgraded connection got %q, %v", line, err)
	}
}

// TestCORSConditionalAndHead: a 304 the cache answers to a conditional
// request, and a HEAD, carry the request's own origin's CORS headers and
// Vary: Origin, with the response header rules.
func TestCORSConditionalAndHead(t *testing.T) {
	b := newBackend(t, "b")
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "data")
	})
	srv, _ := serveYAML(t, fmt.Sprintf(`
upstreams:
  b: {instances: [%q]}
routes:
  - name: data
    path: /data
    upstream: b
    cache: {ttl: 1m}
    cors: {allow_origins: ["https://a.example.com", "https://b.example.com"]}
    headers: {response: {set: {X-Frame-Options: DENY}}}
`, b.addr()))
	if r := do(t, http.MethodGet, srv+"/data", nil, "Origin", "https://a.example.com"); r.code != 200 || r.body != "data" {
		t.Fatalf("fill: %d %q", r.code, r.body)
	}
	for _, tc := range []struct{ method, origin string }{
		{http.MethodGet, "https://b.example.com"},
		{http.MethodHead, "https://a.example.com"},
		{http.MethodGet, "https://evil.example.com"},
	} {
		r := do(t, tc.method, srv+"/data", nil, "Origin", tc.origin, "If-None-Match", `"v1"`)
		want := tc.origin
		if strings.Contains(tc.origin, "evil") {
			want = ""
		}
		if r.code != http.StatusNotModified || r.header.Get("Access-Control-Allow-Origin") != want ||
			!strings.Contains(r.header.Get("Vary"), "Origin") || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s from %s: %d %v, want 304 with ACAO %q, Vary: Origin and the rule", tc.method, tc.origin, r.code, r.header, want)
		}
	}
	// The GET that filled the cache and the HEAD, which this cache does
	// not answer from a stored GET.
	if n := b.hits.Load(); n != 2 {
		t.Errorf("the backend was called %d times, want 2", n)
	}
}
