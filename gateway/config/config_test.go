package config

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

const fullDoc = `listen: ":8000"
admin_listen: 127.0.0.1:0
drain_period: 1s
shutdown_timeout: 2m
trusted_proxies: [10.1.2.3/8, "::1", 192.168.0.1]
upstreams:
  users:
    service: users-svc
    discovery: static
    instances:
      - 127.0.0.1:9001
      - {addr: "127.0.0.1:9002", weight: 3, id: b, scheme: https, meta: {version: v2}, tags: [canary]}
    balancer: hash
    hash: {header: x-user-id, load_factor: 1.5, replicas: 50}
    passive_health: {consecutive_failures: 3, base_ejection: 10s, max_ejection: 1m, max_ejection_percent: 25}
    active_health: {path: "/health?full=1", interval: 2s, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2}
    retry: {attempts: 3, statuses: [503], budget_ratio: 0.5, budget_min_per_second: 2.5}
    try_timeout: 750ms
    preserve_host: true
    panic_threshold: 30
  orders:
    instances: ["[::1]:9100"]
    balancer: weighted
    passive_health: {}
    active_health: {}
  sessions:
    instances: [localhost:9200]
    balancer: hash
    hash: {cookie: sid}
  ip:
    instances: [localhost:9300]
    balancer: hash
    hash: {client_ip: true}
  rr:
    instances: [localhost:9400]
    balancer: round_robin
  default:
    instances: [localhost:9500]
    retry: {attempts: 2}
routes:
  - name: users
    hosts: [api.example.com, "*.example.com"]
    methods: [get, Post]
    path: /users/{id}
    rewrite: /v1/users/{id}
    timeout: 10s
    max_body_bytes: 1MiB
    upstream: users
  - name: orders
    path_prefix: /api/orders
    strip_prefix: /api
    max_body_bytes: 2048
    upstream: orders
  - name: catch-all
    path_prefix: /
    upstream: default
`

func TestParseFull(t *testing.T) {
	l, err := Parse("full.yaml", []byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	if l.Listen != ":8000" || l.AdminListen != "127.0.0.1:0" || l.DrainPeriod != time.Second || l.ShutdownTimeout != 2*time.Minute {
		t.Errorf("listeners and timings: %q %q %v %v", l.Listen, l.AdminListen, l.DrainPeriod, l.ShutdownTimeout)
	}

	// Hash keys are functions: check what they do, then leave them out of
	// the comparison.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-User-Id", "42")
	req.Header.Set("Cookie", "a=1; sid=abc")
	req.RemoteAddr = "10.9.8.7:5555"
	wantKeys := map[string]string{"users": "42", "sessions": "abc", "ip": "10.9.8.7"}
	for i, u := range liveConfig(t, l).Upstreams {
		h, ok := u.Balancer.(balance.Hash)
		if !ok {
			continue
		}
		if h.Key == nil {
			t.Errorf("%s: hash has no key", u.Name)
			continue
		}
		if got := h.Key(req); got != wantKeys[u.Name] {
			t.Errorf("%s: hash key = %q, want %q", u.Name, got, wantKeys[u.Name])
		}
		delete(wantKeys, u.Name)
		h.Key = nil
		liveConfig(t, l).Upstreams[i].Balancer = h
	}
	if len(wantKeys) > 0 {
		t.Errorf("no hash balancer for %v", wantKeys)
	}

	want := gateway.Config{
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.0.1/32"),
		},
		Upstreams: []gateway.UpstreamSpec{
			{
				Name: "users", Service: "users-svc",
				Instances: []discovery.Instance{
					{Addr: "127.0.0.1:9001"},
					{Addr: "127.0.0.1:9002", Weight: 3, ID: "b", Scheme: "https", Meta: map[string]string{"version": "v2"}, Tags: []string{"canary"}},
				},
				Balancer:       balance.Hash{LoadFactor: 1.5, Replicas: 50, KeyID: "header:x-user-id"},
				PassiveHealth:  &health.Passive{ConsecutiveFailures: 3, BaseEjection: 10 * time.Second, MaxEjection: time.Minute, MaxEjectionPercent: 25},
				ActiveHealth:   &health.Active{Path: "/health?full=1", Interval: 2 * time.Second, Timeout: 500 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 2},
				Retry:          gateway.RetrySpec{Attempts: 3, Statuses: []int{503}, BudgetRatio: 0.5, BudgetMinPerSecond: 2.5},
				TryTimeout:     750 * time.Millisecond,
				PreserveHost:   true,
				PanicThreshold: 30,
			},
			{
				Name: "orders", Instances: []discovery.Instance{{Addr: "[::1]:9100"}}, Balancer: balance.Weighted{},
				PassiveHealth: &health.Passive{}, ActiveHealth: &health.Active{},
			},
			{Name: "sessions", Instances: []discovery.Instance{{Addr: "localhost:9200"}}, Balancer: balance.Hash{KeyID: "cookie:sid"}},
			{Name: "ip", Instances: []discovery.Instance{{Addr: "localhost:9300"}}, Balancer: balance.Hash{KeyID: "client_ip"}},
			{Name: "rr", Instances: []discovery.Instance{{Addr: "localhost:9400"}}, Balancer: balance.RoundRobin{}},
			{Name: "default", Instances: []discovery.Instance{{Addr: "localhost:9500"}}, Balancer: balance.P2C{}, Retry: gateway.RetrySpec{Attempts: 2}},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "users", Hosts: []string{"api.example.com", "*.example.com"}, Methods: []string{"GET", "POST"}, Path: "/users/{id}", Rewrite: "/v1/users/{id}", Timeout: spec.Duration(10 * time.Second), MaxBodyBytes: 1 << 20, Upstream: "users"}},
			{Route: spec.Route{Name: "orders", PathPrefix: "/api/orders", StripPrefix: "/api", MaxBodyBytes: 2048, Upstream: "orders"}},
			{Route: spec.Route{Name: "catch-all", PathPrefix: "/", Upstream: "default"}},
		},
	}
	slices.SortFunc(want.Upstreams, func(a, b gateway.UpstreamSpec) int { return strings.Compare(a.Name, b.Name) })
	for i := range max(len(want.Upstreams), len(liveConfig(t, l).Upstreams)) {
		if i >= len(want.Upstreams) || i >= len(liveConfig(t, l).Upstreams) {
			t.Errorf("got %d upstreams, want %d", len(liveConfig(t, l).Upstreams), len(want.Upstreams))
			break
		}
		if got, w := liveConfig(t, l).Upstreams[i], want.Upstreams[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("upstream %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if !reflect.DeepEqual(liveConfig(t, l).Routes, want.Routes) {
		t.Errorf("routes:\n got %+v\nwant %+v", liveConfig(t, l).Routes, want.Routes)
	}
	if !reflect.DeepEqual(liveConfig(t, l).TrustedProxies, want.TrustedProxies) {
		t.Errorf("trusted proxies: got %v, want %v", liveConfig(t, l).TrustedProxies, want.TrustedProxies)
	}
	if !reflect.DeepEqual(liveConfig(t, l), want) {
		t.Errorf("config differs:\n got %+v\nwant %+v", liveConfig(t, l), want)
	}
	if got := l.File.Upstreams["users"].Instances[1].Meta["version"]; got != "v2" {
		t.Errorf("File keeps the document: meta version = %q", got)
	}
}

func TestParseDefaults(t *testing.T) {
	l, err := Parse("min.yaml", []byte("upstreams:\n  a:\n    instances: [a:1]\nroutes:\n  - {name: r, path_prefix: /, upstream: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Listen != DefaultListen || l.AdminListen != DefaultAdminListen ||
		l.DrainPeriod != DefaultDrainPeriod || l.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults: %q %q %v %v", l.Listen, l.AdminListen, l.DrainPeriod, l.ShutdownTimeout)
	}
	u := liveConfig(t, l).Upstreams[0]
	want := gateway.UpstreamSpec{Name: "a", Instances: []discovery.Instance{{Addr: "a:1"}}, Balancer: balance.P2C{}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("upstream = %+v, want %+v", u, want)
	}
	if liveConfig(t, l).TrustedProxies != nil {
		t.Errorf("trusted proxies = %v, want none", liveConfig(t, l).TrustedProxies)
	}
}

func TestParseNoRoutes(t *testing.T) {
	// An upstream no route uses is allowed (e.g. one mounted with
	// Gateway.Proxy), and so is a file with no routes at all.
	l, err := Parse("x.yaml", []byte("upstreams: {a: {instances: [\"a:1\"]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(liveConfig(t, l).Upstreams) != 1 || len(liveConfig(t, l).Routes) != 0 {
		t.Errorf("got %+v", liveConfig(t, l))
	}
}

func TestParseAnchorsAndMerges(t *testing.T) {
	doc := `x-defaults:
  upstream: &up
    balancer: round_robin
    retry: {attempts: 2}
    passive_health: &ph {consecutive_failures: 7}
  route: &rt {upstream: a, timeout: 3s}
upstreams:
  a:
    <<: *up
    instances: [a:1]
  b:
    instances: [b:1]
    passive_health: *ph
routes:
  - <<: *rt
    name: r1
    path: /r1
  - {<<: *rt, name: r2, path: /r2, timeout: 4s}
`
	l, err := Parse("anchors.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, b := liveConfig(t, l).Upstreams[0], liveConfig(t, l).Upstreams[1]
	if a.Balancer != (balance.RoundRobin{}) || a.Retry.Attempts != 2 || a.PassiveHealth.ConsecutiveFailures != 7 {
		t.Errorf("merged upstream a = %+v", a)
	}
	if b.PassiveHealth == nil || b.PassiveHealth.ConsecutiveFailures != 7 {
		t.Errorf("aliased passive_health of b = %+v", b.PassiveHealth)
	}
	r1, r2 := liveConfig(t, l).Routes[0], liveConfig(t, l).Routes[1]
	if r1.Upstream != "a" || r1.Timeout.Std() != 3*time.Second || r2.Timeout.Std() != 4*time.Second {
		t.Errorf("merged routes: %+v %+v", r1, r2)
	}
}

func TestExampleFile(t *testing.T) {
	l, err := Load(filepath.Join("testdata", "gatescale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(liveConfig(t, l).Upstreams) != 3 || len(liveConfig(t, l).Routes) != 3 {
		t.Fatalf("got %d upstreams and %d routes", len(liveConfig(t, l).Upstreams), len(liveConfig(t, l).Routes))
	}
	if _, ok := upstreamNamed(t, l, "users").Balancer.(balance.Hash); !ok {
		t.Errorf("users balancer = %T, want balance.Hash", upstreamNamed(t, l, "users").Balancer)
	}
	if upstreamNamed(t, l, "users").PassiveHealth == nil || upstreamNamed(t, l, "users").PassiveHealth.MaxEjectionPercent != 50 {
		t.Errorf("users passive health (from an anchor) = %+v", upstreamNamed(t, l, "users").PassiveHealth)
	}

	// The gateway accepts what Parse produced.
	gw, err := gateway.New(gateway.WithAccessLog(false), gateway.WithReadyTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	if err := gw.Apply(context.Background(), liveConfig(t, l)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := len(gw.Routes()); n != 3 {
		t.Errorf("gateway has %d routes, want 3", n)
	}
	// The gRPC upstream has its own HTTP/2 transport and probes with the
	// gRPC health service.
	if g := upstreamNamed(t, l, "greeter"); g.Transport == nil || g.ActiveHealth == nil || g.ActiveHealth.GRPC == nil ||
		g.ActiveHealth.GRPC.Service != "helloworld.Greeter" || g.ActiveHealth.Client == nil {
		t.Errorf("greeter = %+v", g)
	}
}

func TestHash(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "gatescale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse("a", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b", append([]byte(nil), data...))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("c", append(append([]byte(nil), data...), "\n# changed\n"...))
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash {
		t.Error("same bytes, different hashes")
	}
	if a.Hash == c.Hash {
		t.Error("different bytes, same hash")
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("err = %q, want it to start with the path", err)
	}
}

func TestErrorType(t *testing.T) {
	_, err := Parse("f.yaml", []byte("upstreams:\n  a:\n    instances: [a:1]\nroutes:\n  - {name: r, path: /, upstream: b}\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, not an *Error", err)
	}
	want := Error{File: "f.yaml", Line: 5, Column: 34, Path: "routes[0].upstream", Message: `"b" is not defined (defined: a)`}
	if *e != want {
		t.Errorf("error = %+v, want %+v", *e, want)
	}
}

func TestErrorsSortedAndComplete(t *testing.T) {
	doc := `routes:
  - name: r
    path: /r
    upstream: nope
upstreams:
  a:
    instances: [bad]
listen: nowhere
`
	_, err := Parse("f.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`f.yaml:4:15: routes[0].upstream: "nope" is not defined (defined: a)`,
		`f.yaml:7:17: upstreams.a.instances[0]: addr must be host:port: address bad: missing port in address`,
		`f.yaml:8:9: listen: "nowhere" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestParseErrors checks the exact message and position of each kind of
// mistake.
func TestParseErrors(t *testing.T) {
	const ups = "upstreams:\n  users:\n    instances: [127.0.0.1:9001]\n  orders:\n    instances: [127.0.0.1:9002]\n"
	route := func(fields string) string { return ups + "routes:\n  - name: r\n" + fields }
	upstream := func(fields string) string {
		return "upstreams:\n  u:\n" + fields + "routes:\n  - {name: r, path: /, upstream: u}\n"
	}
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error, each "file:line:col: path: message"
	}{
		// Syntax and document shape.
		{"empty", "", []string{"t.yaml:1:1: the file is empty"}},
		{"comments only", "# nothing\n", []string{"t.yaml:1:1: the file is empty"}},
		{"syntax", "routes: [\n", []string{"t.yaml:1:9: sequence end token ']' not found"}},
		{"two documents", "listen: :1\n---\nlisten: :2\n", []string{"t.yaml:3:1: only one YAML document is allowed per file"}},
		{"top-level list", "- a\n", []string{"t.yaml:1:1: expected a mapping of settings at the top level, got a list"}},

		// Keys.
		{"unknown top-level key", "lisen: :80\n", []string{"t.yaml:1:1: lisen: unknown key (did you mean listen?)"}},
		{"unknown key lists valid", "what: 1\n", []string{"t.yaml:1:1: what: unknown key (valid: " + topKeys() + ")"}},
		{"unknown route key", route("    pathh: /x\n    upstream: users\n"), []string{"t.yaml:8:5: routes[0].pathh: unknown key (did you mean path?)"}},
		{"unknown nested key", upstream("    instances: [a:1]\n    hash: {headr: X}\n"), []string{"t.yaml:4:12: upstreams.u.hash.headr: unknown key (did you mean header?)"}},
		{"unknown instance key", upstream("    instances: [{adr: a:1}]\n"), []string{"t.yaml:3:18: upstreams.u.instances[0].adr: unknown key (did you mean addr?)"}},
		{"duplicate upstream", ups + "  users:\n    instances: [a:1]\n", []string{"t.yaml:6:3: upstreams.users: duplicate key, first defined at line 2"}},
		{"duplicate key in route", route("    path: /a\n    path: /b\n    upstream: users\n"), []string{"t.yaml:9:5: routes[0].path: duplicate key, first defined at line 8"}},
		{"merge at top level", "x-a: &a {listen: :1}\n<<: *a\n", []string{"t.yaml:2:1: <<: merge keys are not supported at the top level"}},
		{"unknown alias", "listen: *nope\n", []string{"t.yaml:1:9: listen: alias *nope does not refer to an anchor (&nope) defined before it"}},
		{"unquoted wildcard host", route("    path: /\n    hosts: [*.example.com]\n    upstream: users\n"), []string{`t.yaml:9:13: routes[0].hosts[0]: *.example.com is read as a YAML alias: quote it, as in "*.example.com"`}},
		{"host:port in a flow mapping", "upstreams: {u: {instances: [a:1]}}\n", []string{`t.yaml:1:29: upstreams.u.instances[0]: expected "host:port" or a mapping with addr, got the mapping {a:1}: inside {...} quote addresses, as in ["a:1"]`}},
		{"bad merge", "upstreams:\n  u:\n    <<: 5\n    instances: [a:1]\n", []string{"t.yaml:3:9: upstreams.u: merge keys (<<) need a mapping or a list of mappings, got 5"}},
		{"merge in upstreams", "x-a: &a {u: {instances: [a:1]}}\nupstreams:\n  <<: *a\n", []string{"t.yaml:3:3: upstreams: merge keys (<<) are not supported here"}},

		// Kinds of values.
		{"list expected", route("    path: /\n    methods: GET\n    upstream: users\n"), []string{`t.yaml:9:14: routes[0].methods: expected a list, got "GET"`}},
		{"mapping expected", upstream("    instances: [a:1]\n    retry: 3\n"), []string{"t.yaml:4:12: upstreams.u.retry: expected a mapping, got 3"}},
		{"scalar expected", route("    path: /\n    upstream: [users]\n"), []string{"t.yaml:9:15: routes[0].upstream: expected a string, got a list"}},
		{"integer expected", upstream("    instances: [a:1]\n    retry: {attempts: two}\n"), []string{`t.yaml:4:23: upstreams.u.retry.attempts: expected an integer, got "two"`}},
		{"bool expected", upstream("    instances: [a:1]\n    preserve_host: maybe\n"), []string{`t.yaml:4:20: upstreams.u.preserve_host: expected true or false, got "maybe"`}},
		{"overflow", upstream("    instances: [{addr: a:1, weight: 99999999999999999999}]\n"), []string{"t.yaml:3:37: upstreams.u.instances[0].weight: "}},
		{"instance kind", upstream("    instances: [[a:1]]\n"), []string{`t.yaml:3:17: upstreams.u.instances[0]: expected "host:port" or a mapping with addr, got a list`}},
		{"empty route", ups + "routes:\n  -\n", []string{"t.yaml:7:5: routes[0]: is empty: expected a route"}},
		{"all bad values of an entry", upstream("    instances: [a:1]\n    preserve_host: maybe\n    try_timeout: 5\n"), []string{
			`t.yaml:4:20: upstreams.u.preserve_host: expected true or false, got "maybe"`,
			`t.yaml:5:18: upstreams.u.try_timeout: 5 has no unit: write a duration such as "5s"`,
		}},

		// Durations and sizes.
		{"duration without unit", "drain_period: 5\n", []string{`t.yaml:1:15: drain_period: 5 has no unit: write a duration such as "5s"`}},
		{"bad duration", route("    path: /\n    timeout: 10x\n    upstream: users\n"), []string{`t.yaml:9:14: routes[0].timeout: "10x" is not a duration (examples: "250ms", "10s", "1m30s")`}},
		{"negative duration", "shutdown_timeout: -1s\n", []string{"t.yaml:1:19: shutdown_timeout: must not be negative"}},
		{"zero drain", "drain_period: 0s\n", []string{"t.yaml:1:15: drain_period: must be positive (omit it for the default, 5s)"}},
		{"negative route timeout", route("    path: /\n    timeout: -1s\n    upstream: users\n"), []string{"t.yaml:9:14: routes[0].timeout: must not be negative"}},
		{"bad size", route("    path: /\n    max_body_bytes: 1QB\n    upstream: users\n"), []string{`t.yaml:9:21: routes[0].max_body_bytes: "1QB" is not a size (examples: 1048576, "512KiB", "1MiB", "10MB")`}},
		{"fractional size", route("    path: /\n    max_body_bytes: 1.5\n    upstream: users\n"), []string{"t.yaml:9:21: routes[0].max_body_bytes: 1.5 is not a whole number of bytes"}},
		{"negative size", route("    path: /\n    max_body_bytes: -1\n    upstream: users\n"), []string{"t.yaml:9:21: routes[0].max_body_bytes: must not be negative"}},
		{"huge size", route("    path: /\n    max_body_bytes: 9999999TiB\n    upstream: users\n"), []string{`t.yaml:9:21: routes[0].max_body_bytes: size "9999999TiB" is too large`}},

		// CORS: the package's validation, at the field's position.
		{"cors credentials with any origin", route("    path: /\n    upstream: users\n    cors: {allow_origins: [\"*\"], allow_credentials: true}\n"), []string{
			`t.yaml:10:28: routes[0].cors.allow_origins[0]: "*" cannot be combined with allow_credentials`}},
		{"cors bad origin at top level", ups + "cors:\n  allow_origins: [https://app.example.com/]\n", []string{
			`t.yaml:7:19: cors.allow_origins[0]: "https://app.example.com/" is not an origin: an origin has no path`}},

		// Header rules: the package's validation, at the rule's position.
		{"header rule on a gateway header", route("    path: /\n    upstream: users\n    headers:\n      request:\n        set: {X-Forwarded-For: 1.2.3.4}\n        remove: [Content-Length]\n"), []string{
			`t.yaml:12:15: routes[0].headers.request.set.X-Forwarded-For: X-Forwarded-For is the gateway's`,
			`t.yaml:13:18: routes[0].headers.request.remove[0]: Content-Length frames the body`}},
		{"header rule on a hop-by-hop header", route("    path: /\n    upstream: users\n    headers: {response: {add: {Connection: close}}}\n"), []string{
			`routes[0].headers.response.add.Connection: Connection is a hop-by-hop header`}},

		// Top level.
		{"listen without port", "listen: 8080\n", []string{`t.yaml:1:9: listen: "8080" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`}},
		{"listen bad port", "listen: :http\n", []string{`t.yaml:1:9: listen: ":http": port "http" is not a number from 0 to 65535`}},
		{"listen bad host", "listen: \"a b:80\"\n", []string{`t.yaml:1:9: listen: "a b:80": "a b" is not a host name or IP address`}},
		{"listen equals admin", "listen: 127.0.0.1:9090\n", []string{"t.yaml:1:9: listen: listen and admin_listen are both 127.0.0.1:9090: they must differ"}},
		{"empty admin_listen", "admin_listen: \"\"\n", []string{"t.yaml:1:15: admin_listen: must not be empty (default 127.0.0.1:9090)"}},
		{"bad CIDR", "trusted_proxies: [10.0.0.0/33, 10.0.0.1, nope]\n", []string{
			`t.yaml:1:19: trusted_proxies[0]: "10.0.0.0/33" is not a CIDR (10.0.0.0/8) or an IP address`,
			`t.yaml:1:42: trusted_proxies[2]: "nope" is not a CIDR (10.0.0.0/8) or an IP address`,
		}},

		// Upstreams.
		{"no instances", upstream("    balancer: p2c\n"), []string{"t.yaml:2:3: upstreams.u.instances: at least one instance is required (discovery: static)"}},
		{"null upstream", "upstreams:\n  u:\n", []string{"t.yaml:2:3: upstreams.u.instances: at least one instance is required"}},
		{"empty upstream name", "upstreams:\n  \"\": {instances: [\"a:1\"]}\n", []string{`t.yaml:2:3: upstreams[""]: an upstream name must not be empty`}},
		{"other discovery", upstream("    discovery: dns\n    instances: [a:1]\n"), []string{`t.yaml:3:16: upstreams.u.discovery: "dns" is not supported (valid: static, consul, kubernetes)`}},
		{"consul with instances", upstream("    discovery: consul\n    instances: [a:1]\n"), []string{`t.yaml:4:16: upstreams.u.instances: are not used with discovery: consul (Consul supplies them)`}},
		{"consul query on static", upstream("    instances: [a:1]\n    consul: {tags: [x]}\n"), []string{`t.yaml:4:13: upstreams.u.consul: is only for discovery: consul`}},
		{"instance without port", upstream("    instances: [127.0.0.1]\n"), []string{"t.yaml:3:17: upstreams.u.instances[0]: addr must be host:port: address 127.0.0.1: missing port in address"}},
		{"instance bad port", upstream("    instances: [{addr: \"a:70000\"}]\n"), []string{`t.yaml:3:24: upstreams.u.instances[0].addr: addr "a:70000" has an invalid port`}},
		{"instance bad host", upstream("    instances: [\"a b:1\"]\n"), []string{`t.yaml:3:17: upstreams.u.instances[0]: addr "a b:1": "a b" is not a host name or IP address`}},
		{"instance no addr", upstream("    instances: [{id: x}]\n"), []string{"t.yaml:3:17: upstreams.u.instances[0].addr: is required (host:port)"}},
		{"instance scheme", upstream("    instances: [{addr: a:1, scheme: ftp}]\n"), []string{`t.yaml:3:37: upstreams.u.instances[0].scheme: "ftp" is not http or https`}},
		{"negative weight", upstream("    instances: [{addr: a:1, weight: -1}]\n"), []string{"t.yaml:3:37: upstreams.u.instances[0].weight: must not be negative"}},
		{"duplicate instance", upstream("    instances: [a:1, {addr: a:1}]\n"), []string{`t.yaml:3:22: upstreams.u.instances[1]: addr "a:1" is already used by instances[0]`}},
		{"unknown balancer", upstream("    instances: [a:1]\n    balancer: rr\n"), []string{`t.yaml:4:15: upstreams.u.balancer: unknown balance policy "rr" (valid: round_robin, weighted, p2c, hash)`}},
		{"hash without key", upstream("    instances: [a:1]\n    balancer: hash\n"), []string{"t.yaml:2:3: upstreams.u.hash: is required with balancer: hash (one of header, cookie or client_ip: true)"}},
		{"hash with two keys", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {header: X-A, client_ip: true}\n"), []string{"t.yaml:5:11: upstreams.u.hash: has header and client_ip: set exactly one"}},
		{"hash with no key", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {replicas: 10}\n"), []string{"t.yaml:5:11: upstreams.u.hash: needs one of header, cookie or client_ip: true"}},
		{"hash client_ip false", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {client_ip: false}\n"), []string{"t.yaml:5:23: upstreams.u.hash.client_ip: must be true when set"}},
		{"hash bad header", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {header: \"X User\"}\n"), []string{`t.yaml:5:20: upstreams.u.hash.header: "X User" is not a valid header name`}},
		{"hash load factor", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {cookie: s, load_factor: 1}\n"), []string{"t.yaml:5:36: upstreams.u.hash.load_factor: must be a number above 1 (default 1.25)"}},
		{"hash replicas", upstream("    instances: [a:1]\n    balancer: hash\n    hash: {cookie: s, replicas: 0}\n"), []string{"t.yaml:5:33: upstreams.u.hash.replicas: must be from 1 to 262144 (default 100)"}},
		{"hash without balancer", upstream("    instances: [a:1]\n    hash: {header: X}\n"), []string{"t.yaml:4:11: upstreams.u.hash: is only used with balancer: hash (the default balancer is p2c)"}},
		{"passive zero percent", upstream("    instances: [a:1]\n    passive_health: {max_ejection_percent: 0}\n"), []string{"t.yaml:4:44: upstreams.u.passive_health.max_ejection_percent: must be from 1 to 100 (default 50; omit passive_health to disable ejection)"}},
		{"passive failures", upstream("    instances: [a:1]\n    passive_health: {consecutive_failures: -2}\n"), []string{"t.yaml:4:44: upstreams.u.passive_health.consecutive_failures: must be at least 1 (default 5)"}},
		{"passive max below base", upstream("    instances: [a:1]\n    passive_health: {base_ejection: 1m, max_ejection: 30s}\n"), []string{"t.yaml:4:55: upstreams.u.passive_health.max_ejection: max_ejection (30s) is shorter than base_ejection (1m0s)"}},
		{"passive base above default max", upstream("    instances: [a:1]\n    passive_health: {base_ejection: 10m}\n"), []string{"t.yaml:4:37: upstreams.u.passive_health.base_ejection: max_ejection (5m0s) is shorter than base_ejection (10m0s)"}},
		{"panic threshold above 100", upstream("    instances: [a:1]\n    panic_threshold: 101\n"), []string{"t.yaml:4:22: upstreams.u.panic_threshold: must be a percentage from 0 (off) to 100, not 101"}},
		{"negative panic threshold", upstream("    instances: [a:1]\n    active_health: {}\n    panic_threshold: -5\n"), []string{"t.yaml:5:22: upstreams.u.panic_threshold: must be a percentage from 0 (off) to 100, not -5"}},
		{"active zero interval", upstream("    instances: [a:1]\n    active_health: {interval: 0s}\n"), []string{"t.yaml:4:31: upstreams.u.active_health.interval: must be positive (omit it for the default, 5s)"}},
		{"active path", upstream("    instances: [a:1]\n    active_health: {path: healthz}\n"), []string{`t.yaml:4:27: upstreams.u.active_health.path: "healthz" is not a path such as "/healthz"`}},
		{"active threshold", upstream("    instances: [a:1]\n    active_health: {healthy_threshold: 0}\n"), []string{"t.yaml:4:40: upstreams.u.active_health.healthy_threshold: must be at least 1 (default 2)"}},
		{"retry attempts", upstream("    instances: [a:1]\n    retry: {attempts: 11}\n"), []string{"t.yaml:4:23: upstreams.u.retry.attempts: must be from 0 to 10 (attempts include the first try)"}},
		{"retry negative attempts", upstream("    instances: [a:1]\n    retry: {attempts: -1}\n"), []string{"t.yaml:4:23: upstreams.u.retry.attempts: must be from 0 to 10"}},
		{"retry status", upstream("    instances: [a:1]\n    retry: {attempts: 2, statuses: [502, 99, 600]}\n"), []string{
			"t.yaml:4:42: upstreams.u.retry.statuses[1]: 99 is not an HTTP status (100 to 599)",
			"t.yaml:4:46: upstreams.u.retry.statuses[2]: 600 is not an HTTP status (100 to 599)",
		}},
		{"retry budget ratio", upstream("    instances: [a:1]\n    retry: {attempts: 2, budget_ratio: 1.5}\n"), []string{"t.yaml:4:40: upstreams.u.retry.budget_ratio: must be above 0 and at most 1 (default 0.2)"}},
		{"retry zero budget", upstream("    instances: [a:1]\n    retry: {attempts: 2, budget_min_per_second: 0}\n"), []string{"t.yaml:4:49: upstreams.u.retry.budget_min_per_second: must be a number above 0 (default 10)"}},
		{"negative try timeout", upstream("    instances: [a:1]\n    try_timeout: -1s\n"), []string{"t.yaml:4:18: upstreams.u.try_timeout: must not be negative"}},

		// Routes.
		{"route without name", ups + "routes:\n  - path: /\n    upstream: users\n", []string{"t.yaml:7:5: routes[0].name: is required"}},
		{"duplicate route name", route("    path: /a\n    upstream: users\n  - name: r\n    path: /b\n    upstream: users\n"), []string{`t.yaml:10:11: routes[1].name: "r" is already used by routes[0] (line 7)`}},
		{"reserved route name", ups + "routes:\n  - name: (removed)\n    path: /\n    upstream: users\n", []string{`t.yaml:7:11: routes[0].name: "(removed)" is reserved: a name in parentheses is a label of the gateway's own series ((refused), (removed))`}},
		{"ip_access entries", route("    path: /\n    upstream: users\n    ip_access: {allow: [10.0.0.0/8, 10.1.2.3/16], deny: [example.com]}\n"), []string{
			`t.yaml:10:37: routes[0].ip_access.allow[1]: "10.1.2.3/16" has bits set past its length: write 10.1.0.0/16`,
			`t.yaml:10:58: routes[0].ip_access.deny[0]: "example.com" is not an address or prefix`,
		}},
		{"empty ip_access", route("    path: /\n    upstream: users\n    ip_access: {}\n"), []string{"t.yaml:10:16: routes[0].ip_access: needs allow or deny (an empty ip_access admits everyone; remove it)"}},
		{"mirror fields", route("    path: /\n    upstream: users\n    mirror:\n      upstream: userz\n      percent: 150\n      max_in_flight: -1\n      header: \"bad header\"\n"), []string{
			`t.yaml:11:17: routes[0].mirror.upstream: "userz" is not defined (defined: orders, users)`,
			"t.yaml:12:16: routes[0].mirror.percent: 150 is not a percentage (0-100)",
			"t.yaml:13:22: routes[0].mirror.max_in_flight: must not be negative",
			`t.yaml:14:15: routes[0].mirror.header: "bad header" is not a valid header name`,
		}},
		{"mirror to the route's upstream", route("    path: /\n    upstream: users\n    mirror: {upstream: users}\n"), []string{
			`t.yaml:10:24: routes[0].mirror.upstream: "users" is the route's own upstream: a mirror is another upstream (the version under test)`,
		}},
		{"mirror without upstream", route("    path: /\n    upstream: users\n    mirror: {percent: 5}\n"), []string{
			"routes[0].mirror.upstream: is required: the upstream that receives the copies",
		}},
		{"mirror to a variant's upstream", route("    path: /\n    upstream: users\n    variants: [{header: X-Beta, value: \"1\", upstream: orders}]\n    mirror: {upstream: orders}\n"), []string{
			`t.yaml:11:24: routes[0].mirror.upstream: "orders" is the upstream of the route's variants[0]: a mirror is another upstream (the version under test)`,
		}},
		{"mirror on a composite route", route("    path: /\n    composite:\n      calls: [{name: a, upstream: users, path: /a}]\n    mirror: {upstream: orders}\n"), []string{
			"t.yaml:11:13: routes[0].mirror: is not supported on a composite route",
		}},
		{"undefined upstream", route("    path: /\n    upstream: userz\n"), []string{`t.yaml:9:15: routes[0].upstream: "userz" is not defined (defined: orders, users)`}},
		{"missing upstream", route("    path: /\n"), []string{"t.yaml:7:5: routes[0].upstream: is required (defined: orders, users)"}},
		{"no path", route("    upstream: users\n"), []string{"t.yaml:7:5: routes[0]: one of path and path_prefix is required"}},
		{"path and prefix", route("    path: /a\n    path_prefix: /b\n    upstream: users\n"), []string{"t.yaml:9:18: routes[0].path_prefix: path and path_prefix are exclusive: set one"}},
		{"relative path", route("    path: a\n    upstream: users\n"), []string{`t.yaml:8:11: routes[0].path: "a" must begin with /`}},
		{"relative prefix", route("    path_prefix: a\n    upstream: users\n"), []string{`t.yaml:8:18: routes[0].path_prefix: "a" must begin with /`}},
		{"relative strip", route("    path_prefix: /a\n    strip_prefix: a\n    upstream: users\n"), []string{`t.yaml:9:19: routes[0].strip_prefix: "a" must begin with /`}},
		{"relative rewrite", route("    path: /a\n    rewrite: a\n    upstream: users\n"), []string{`t.yaml:9:14: routes[0].rewrite: "a" must begin with /`}},
		{"strip and rewrite", route("    path_prefix: /a\n    strip_prefix: /a\n    rewrite: /b\n    upstream: users\n"), []string{"t.yaml:9:19: routes[0].strip_prefix: strip_prefix and rewrite are exclusive (rewrite replaces the whole path)"}},
		{"bad method", route("    path: /\n    methods: [GET, FETCH]\n    upstream: users\n"), []string{`t.yaml:9:20: routes[0].methods[1]: "FETCH" is not a supported method (valid: GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE)`}},
		{"duplicate method", route("    path: /\n    methods: [GET, get]\n    upstream: users\n"), []string{"t.yaml:9:20: routes[0].methods[1]: GET is already listed (methods[0])"}},
		{"host with port", route("    path: /\n    hosts: [\"a.com:80\"]\n    upstream: users\n"), []string{`t.yaml:9:13: routes[0].hosts[0]: "a.com:80" must not include a port (the port of the Host header is ignored)`}},
		{"bad host", route("    path: /\n    hosts: [\"a/b\", \"*\", \"a.*.com\", \"\"]\n    upstream: users\n"), []string{
			`t.yaml:9:13: routes[0].hosts[0]: "a/b" is not a host name or *.suffix`,
			`t.yaml:9:20: routes[0].hosts[1]: "*" is not a host name or *.suffix`,
			`t.yaml:9:25: routes[0].hosts[2]: "a.*.com" is not a host name or *.suffix`,
			`t.yaml:9:36: routes[0].hosts[3]: "" is empty`,
		}},
		{"duplicate host", route("    path: /\n    hosts: [a.com, A.com]\n    upstream: users\n"), []string{`t.yaml:9:20: routes[0].hosts[1]: "A.com" is already listed (hosts[0])`}},
		{"negative max body", route("    path: /\n    max_body_bytes: -5\n    upstream: users\n"), []string{"t.yaml:9:21: routes[0].max_body_bytes: must not be negative"}},
		{"chi pattern", route("    path: /a/{id\n    upstream: users\n"), []string{`t.yaml:8:11: routes[0].path: pattern "/a/{id": chi: route param closing delimiter '}' is missing`}},
		{"chi wildcard", route("    path: /a/*/b\n    upstream: users\n"), []string{`t.yaml:8:11: routes[0].path: pattern "/a/*/b": chi: wildcard '*' must be the last value in a route`}},
		{"rewrite parameter", route("    path: /a/{id}\n    rewrite: /b/{name}\n    upstream: users\n"), []string{`t.yaml:9:14: routes[0].rewrite: rewrite "/b/{name}" uses {name}, which the path does not define`}},
		{"rewrite brace", route("    path: /a\n    rewrite: /b/{\n    upstream: users\n"), []string{`t.yaml:9:14: routes[0].rewrite: rewrite "/b/{": unclosed {`}},
		{"conflicting routes", route("    path: /a\n    upstream: users\n  - name: s\n    path: /a\n    methods: [GET, POST]\n    upstream: orders\n"), []string{`t.yaml:11:11: routes[1].path: GET, POST /a is already routed by route "r"`}},
		{"conflicting prefixes", route("    path_prefix: /a\n    upstream: users\n  - name: s\n    path_prefix: /a/\n    upstream: orders\n"), []string{`t.yaml:11:18: routes[1].path_prefix: /a and /a/* are already routed by route "r"`}},
		{"conflict on a host", route("    path: /a\n    hosts: [a.com]\n    upstream: users\n  - name: s\n    path: /a\n    hosts: [A.com]\n    methods: [GET]\n    upstream: orders\n"), []string{`t.yaml:12:11: routes[1].path: GET /a on host "a.com" is already routed by route "r"`}},
		{"later stages still checked", route("    path: /a\n    rewrite: /{x}\n    upstream: users\n  - name: s\n    path: /b/{id\n    upstream: users\n"), []string{
			`t.yaml:9:14: routes[0].rewrite: rewrite "/{x}" uses {x}, which the path does not define`,
			`t.yaml:12:11: routes[1].path: pattern "/b/{id": chi: route param closing delimiter '}' is missing`,
		}},
		{"routes not a list", ups + "routes: {name: r}\n", []string{"t.yaml:6:9: routes: expected a list, got a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse("t.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("no error; got %+v", liveConfig(t, l))
			}
			if l != nil {
				t.Error("Loaded is not nil on error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain\n  %s\ngot:\n  %s", w, strings.ReplaceAll(msg, "\n", "\n  "))
				}
			}
			lines := strings.Split(msg, "\n")
			for _, line := range lines {
				if !strings.HasPrefix(line, "t.yaml:") {
					t.Errorf("line %q does not start with the file name", line)
				}
			}
			// One mistake, one message: nothing is reported twice.
			if len(lines) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n  %s", len(lines), len(tt.want), strings.Join(lines, "\n  "))
			}
		})
	}
}

func TestFileDurationsAndSizes(t *testing.T) {
	doc := ups("    try_timeout: 0\n") + "routes:\n  - {name: r, path: /, upstream: u, timeout: 1m30s, max_body_bytes: \"512KiB\"}\n"
	l, err := Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.File.Routes[0].Timeout; got != Duration(90*time.Second) {
		t.Errorf("timeout = %v", got)
	}
	if got := liveConfig(t, l).Routes[0].MaxBodyBytes; got != 512<<10 {
		t.Errorf("max body = %d", got)
	}
	if got := liveConfig(t, l).Upstreams[0].TryTimeout; got != 0 {
		t.Errorf("try timeout = %v", got)
	}
}

// topKeys lists the top-level keys as the unknown-key error does.
func topKeys() string {
	keys := slices.Sorted(maps.Keys(yamlFields(reflect.TypeFor[File]())))
	return strings.Join(keys, ", ")
}

func ups(fields string) string {
	return "upstreams:\n  u:\n    instances: [a:1]\n" + fields
}

// TestDocs keeps docs/configuration.md in step with the code: its complete
// example is testdata/gatescale.yaml, and it mentions every key.
func TestDocs(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	text := string(docs)
	i := strings.LastIndex(text, "```yaml\n")
	j := strings.LastIndex(text, "```\n")
	if i < 0 || j < i {
		t.Fatal("no yaml block in docs/configuration.md")
	}
	example, err := os.ReadFile(filepath.Join("testdata", "gatescale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := text[i+len("```yaml\n") : j]; got != string(example) {
		t.Error("the last yaml block of docs/configuration.md differs from testdata/gatescale.yaml")
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for key, f := range yamlFields(typ) {
			if !strings.Contains(text, "| `"+key+"` |") {
				t.Errorf("docs/configuration.md has no table row for %s", key)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[File]())
}

// TestFileRoundTrip checks that File marshals back to YAML that parses to
// the same configuration (durations as strings, sizes as integers,
// address-only instances as strings).
func TestFileRoundTrip(t *testing.T) {
	a, err := Parse("full.yaml", []byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(a.File)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("out.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "- 127.0.0.1:9001\n") || !strings.Contains(string(out), "timeout: 10s\n") {
		t.Errorf("marshalled file:\n%s", out)
	}
	// Upstreams come back in name order (File.Upstreams is a map).
	byName := func(c gateway.Config) map[string]gateway.UpstreamSpec {
		m := map[string]gateway.UpstreamSpec{}
		for _, u := range c.Upstreams {
			if h, ok := u.Balancer.(balance.Hash); ok {
				h.Key = nil
				u.Balancer = h
			}
			m[u.Name] = u
		}
		return m
	}
	if !reflect.DeepEqual(byName(liveConfig(t, a)), byName(liveConfig(t, b))) || !reflect.DeepEqual(liveConfig(t, a).Routes, liveConfig(t, b).Routes) ||
		!reflect.DeepEqual(liveConfig(t, a).TrustedProxies, liveConfig(t, b).TrustedProxies) {
		t.Errorf("round trip differs:\n%+v\n%+v\n%s", liveConfig(t, a), liveConfig(t, b), out)
	}
}

// TestKubernetesDiscovery: a kubernetes upstream parses with a kubeconfig
// (no connection is made at parse time) and carries its resolver.
func TestKubernetesDiscovery(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	t.Setenv("KUBECONFIG", kubeconfig)
	l, err := Parse("k.yaml", []byte("upstreams:\n  users:\n    discovery: kubernetes\n    service: shop/users\n    kubernetes: {port: http}\nroutes:\n  - {name: u, path_prefix: /, upstream: users}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := liveConfig(t, l).Upstreams[0].Resolver.(*kube.Resolver); !ok || liveConfig(t, l).Upstreams[0].Service != "shop/users" {
		t.Fatalf("resolver %T, service %q", liveConfig(t, l).Upstreams[0].Resolver, liveConfig(t, l).Upstreams[0].Service)
	}
	_, err = Parse("k.yaml", []byte("upstreams:\n  users:\n    discovery: kubernetes\n    instances: [a:1]\nroutes:\n  - {name: u, path_prefix: /, upstream: users}\n"))
	if err == nil || !strings.Contains(err.Error(), "k.yaml:4:16: upstreams.users.instances: are not used with discovery: kubernetes") {
		t.Fatalf("err = %v", err)
	}
}

func TestCanaryConfig(t *testing.T) {
	doc := `upstreams:
  users: {instances: ["a:1"]}
  users-v2: {instances: [{addr: "b:1", meta: {version: v2}}], subset: {version: v2}}
routes:
  - name: users
    path_prefix: /
    upstream: users
    variants: [{header: X-Canary, value: "1", upstream: users-v2}]
`
	l, err := Parse("c.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := liveConfig(t, l).Upstreams[1].Subset["version"]; got != "v2" {
		t.Errorf("subset = %v", liveConfig(t, l).Upstreams[1].Subset)
	}
	if v := liveConfig(t, l).Routes[0].Variants; len(v) != 1 || v[0] != (spec.Variant{Header: "X-Canary", Value: "1", Upstream: "users-v2"}) {
		t.Errorf("variants = %+v", v)
	}
	_, err = Parse("c.yaml", []byte(strings.Replace(doc, "upstream: users-v2}", "upstream: nope}", 1)))
	if err == nil || !strings.Contains(err.Error(), `c.yaml:8:57: routes[0].variants[0].upstream: "nope" is not defined`) {
		t.Errorf("err = %v", err)
	}
	// Weighted variants: refused shapes point at the variant's field.
	for _, c := range []struct{ variants, want string }{
		{`[{weight: 10, upstream: users-v2}]`, ""},
		{`[{weight: 60, upstream: users-v2}, {weight: 50, upstream: users-v2}]`, `c.yaml:8:59: routes[0].variants[1].weight: the variants' weights add up to 110%, more than 100%`},
		{`[{weight: 101, upstream: users-v2}]`, `routes[0].variants[0].weight: 101 is not a percentage (1-100)`},
		{`[{header: X-A, value: "1", weight: 5, upstream: users-v2}]`, `routes[0].variants[0].weight: a variant is chosen by header or by weight, not both`},
		{`[{upstream: users-v2}]`, `routes[0].variants[0]: needs a header (and value) or a weight`},
	} {
		_, err := Parse("c.yaml", []byte(strings.Replace(doc, `[{header: X-Canary, value: "1", upstream: users-v2}]`, c.variants, 1)))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err = %v, want %q", c.variants, err, c.want)
		}
	}
}

var liveConfigs sync.Map // *Loaded -> gateway.Config

// liveConfig builds l as the binary does, for (*gateway.Gateway).Apply,
// once per Loaded: upstreams sorted by name, routes in file order.
func liveConfig(t testing.TB, l *Loaded) gateway.Config {
	t.Helper()
	if c, ok := liveConfigs.Load(l); ok {
		return c.(gateway.Config)
	}
	rt := live.NewRuntime()
	t.Cleanup(rt.Close)
	b, err := l.Build(rt)
	if err != nil {
		t.Fatal(err)
	}
	liveConfigs.Store(l, b.Gateway)
	return b.Gateway
}

// upstreamNamed returns the built upstream of that name.
func upstreamNamed(t testing.TB, l *Loaded, name string) gateway.UpstreamSpec {
	t.Helper()
	for _, u := range liveConfig(t, l).Upstreams {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("no upstream %s", name)
	return gateway.UpstreamSpec{}
}

// Composite routes' mistakes are reported at their place, like every other.
func TestCompositeErrors(t *testing.T) {
	doc := `upstreams:
  orders: {instances: ["a:1"]}
routes:
  - name: page
    path: /page/{id}
    composite:
      calls:
        - {name: a, upstream: orders, path: "/a/{b.x}"}
        - {name: b, upstream: orders, path: "/b/{a.x}"}
        - {name: c, upstream: nope, path: "/c/{idd}"}
`
	_, err := Parse("c.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`c.yaml:8:11: routes[0].composite.calls[0]: calls depend on each other in a cycle: a → b → a`,
		`c.yaml:10:31: routes[0].composite.calls[2].upstream: "nope" is not defined`,
		`c.yaml:10:43: routes[0].composite.calls[2].path: {idd} is neither a path parameter of "/page/{id}" nor a call`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	l, err := Parse("ok.yaml", []byte(strings.Replace(strings.Replace(doc, "/a/{b.x}", "/a/{id}", 1), `upstream: nope, path: "/c/{idd}"`, `upstream: orders, path: "/c"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Spec.Routes[0].Composite; c == nil || len(c.Calls) != 3 || c.Calls[1].Path != "/b/{a.x}" {
		t.Fatalf("composite %+v", c)
	}
}
