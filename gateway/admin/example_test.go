package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A File store for one node: each Save names the revision it read.
func ExampleNewFile() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	c := &spec.Config{Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}}}}}
	rev, _ := st.Save(context.Background(), 0, c, admin.Change{Actor: "alice", Message: "users service"})
	_, err := st.Save(context.Background(), 0, c, admin.Change{Actor: "bob"})
	fmt.Println(rev, err)
	// Output: 1 admin: the state changed since the base revision
}

// A Consul store shared by every replica, under a prefix.
func ExampleNewConsul() {
	client, _ := api.NewClient(api.DefaultConfig())
	st := admin.NewConsul(client, "gatescale/admin")
	fmt.Println(st)
	// Output: consul:gatescale/admin
}

// Each replica follows the store with a reload.Loop, as it follows a file.
func ExampleApply() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	reg := prometheus.NewRegistry()
	gw, _ := gateway.New(gateway.WithRegistry(reg), gateway.WithAccessLog(false))
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	loop := reload.NewLoop(admin.NewSource(st), admin.Apply(gw, rt), reload.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	fmt.Println(loop.Load(context.Background()))
	// Output: <nil>
}

// The admin API on the admin listener, with tokens stored hashed.
func ExampleNewAPI() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	tokens, _ := admin.NewTokens(admin.Token{Name: "ci", SHA256: admin.HashToken("secret"), Role: "operator"})
	a, _ := admin.NewAPI(admin.NewFile(filepath.Join(dir, "state.json")), admin.Options{Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = &gateway.Server{AdminHandlers: map[string]http.Handler{"/admin/": a}}

	srv := httptest.NewServer(a)
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/admin/upstreams/users", strings.NewReader(`{"instances":["10.0.0.1:80"]}`))
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("If-Match", `"0"`)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	fmt.Println(resp.StatusCode) // operators may not change upstreams
	// Output: 403
}

// HashToken is what a tokens file stores for a secret.
func ExampleHashToken() {
	fmt.Println(admin.HashToken("secret")[:16])
	// Output: 2bb80d537b1da3e3
}

// Summary is the audit log's account of a change.
func ExampleSummary() {
	old := &spec.Config{Routes: []spec.Route{{Name: "a"}, {Name: "b"}}}
	cur := &spec.Config{Routes: []spec.Route{{Name: "a", Path: "/a"}, {Name: "c"}}}
	fmt.Println(admin.Summary(old, cur))
	// Output: [~route/a +route/c -route/b]
}

// DecodeStrict names an unknown member by its JSON pointer.
func ExampleDecodeStrict() {
	var r spec.Route
	fmt.Println(admin.DecodeStrict([]byte(`{"name":"a","auth":{"methods":[],"metods":[]}}`), &r))
	// Output: /auth/metods: unknown field
}

// ParseTokens reads a tokens file.
func ExampleParseTokens() {
	_, err := admin.ParseTokens([]byte(`{"tokens":[{"name":"ops","sha256":"` + admin.HashToken("x") + `","role":"root"}]}`))
	fmt.Println(err)
	// Output: admin tokens[0]: role "root": want viewer, operator or admin
}

// NewSource makes a Store a reload.Source; Decode reads what it delivers.
func ExampleNewSource() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	_, _ = st.Save(context.Background(), 0, &spec.Config{TrustedProxies: []string{"10.0.0.0/8"}}, admin.Change{Actor: "ops"})
	data, _ := admin.NewSource(st).Read(context.Background())
	s, _ := admin.Decode(data)
	fmt.Println(s.Revision, s.Config.TrustedProxies)
	// Output: 1 [10.0.0.0/8]
}

// NewTokens indexes tokens given in code rather than in a file.
func ExampleNewTokens() {
	_, err := admin.NewTokens(admin.Token{Name: "ops", SHA256: admin.HashToken("s"), Role: "viewer"})
	fmt.Println(err)
	// Output: <nil>
}

// ParseRole reads a role name.
func ExampleParseRole() {
	r, _ := admin.ParseRole("operator")
	fmt.Println(r, r >= admin.Viewer, r >= admin.Admin)
	// Output: operator true false
}

// A Client changes a route's lifecycle with a read-modify-write that sends
// If-Match, and reports a refused change with the field's JSON pointer.
func ExampleClient() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	_, _ = st.Save(context.Background(), 0, &spec.Config{
		Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: "10.0.0.1:80"}}}},
		Routes:    []spec.Route{{Name: "users", PathPrefix: "/users", Upstream: "users"}},
	}, admin.Change{Actor: "seed"})
	tokens, _ := admin.NewTokens(admin.Token{Name: "ops", SHA256: admin.HashToken("s3cret"), Role: "operator"})
	api, _ := admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(api)
	defer srv.Close()

	c := &admin.Client{URL: srv.URL, Token: "s3cret"}
	rev, err := c.Update(context.Background(), "users", func(r *spec.Route) error {
		r.Lifecycle = &spec.Lifecycle{State: spec.LifecycleDeprecated, Successor: "/v2/users"}
		return nil
	})
	fmt.Println(rev, err)
	_, err = c.Update(context.Background(), "users", func(r *spec.Route) error {
		r.Upstream = "nope"
		return nil
	})
	fmt.Println(err.(*admin.Problem).Errors[0].Pointer)
	// Output:
	// 2 <nil>
	// /routes/0/upstream
}

// Diff matches routes by name, not position: inserting a route in front
// is one add, not every later route replaced. A removed route's pointer is
// its position in old.
func ExampleDiff() {
	old := &spec.Config{Routes: []spec.Route{
		{Name: "users", Path: "/users", Upstream: "u"},
		{Name: "orders", Path: "/orders", Upstream: "u"},
	}}
	cur := &spec.Config{Routes: []spec.Route{
		{Name: "health", Path: "/healthz", Upstream: "u"},
		{Name: "users", Path: "/v2/users", Upstream: "u"},
	}}
	changes, err := admin.Diff(old, cur)
	if err != nil {
		panic(err)
	}
	for _, d := range changes {
		fmt.Println(d.Op, d.Path, d.Old, d.New)
	}
	// Output:
	// add /routes/0 <nil> map[name:health path:/healthz upstream:u]
	// replace /routes/1/path /users /v2/users
	// remove /routes/1 map[name:orders path:/orders upstream:u] <nil>
}

// Encode is what a Source delivers to the reload loop for a state: its
// JSON.
func ExampleEncode() {
	st := admin.State{Revision: 3, Config: spec.Config{TrustedProxies: []string{"10.0.0.0/8"}}}
	fmt.Println(string(admin.Encode(st)))
	// Output: {"revision":3,"config":{"trusted_proxies":["10.0.0.0/8"]}}
}

// Decode reads Encode's output back, and refuses a member it does not
// know rather than dropping it.
func ExampleDecode() {
	st, err := admin.Decode(admin.Encode(admin.State{Revision: 3, Config: spec.Config{TrustedProxies: []string{"10.0.0.0/8"}}}))
	fmt.Println(st.Revision, st.Config.TrustedProxies, err)

	_, err = admin.Decode([]byte(`{"revision":4,"config":{},"comment":"x"}`))
	fmt.Println(err)
	// Output:
	// 3 [10.0.0.0/8] <nil>
	// admin state: json: unknown field "comment"
}

// LoadTokens reads the tokens file the API authenticates callers with:
// the file holds only SHA-256s of the secrets, each with a role.
func ExampleLoadTokens() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tokens.json")
	file := `{"tokens":[{"name":"dashboard","sha256":"` + admin.HashToken("view-secret") + `","role":"viewer"}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		panic(err)
	}

	tokens, err := admin.LoadTokens(path)
	if err != nil {
		panic(err)
	}
	a, _ := admin.NewAPI(admin.NewFile(filepath.Join(dir, "state.json")), admin.Options{Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	// The token's name is the actor the audit log records; whoami shows it.
	serve := func(method, path, secret string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec
	}
	rec := serve("GET", "/admin/whoami", "view-secret")
	var who struct{ Name, Role string }
	_ = json.Unmarshal(rec.Body.Bytes(), &who)
	fmt.Println(rec.Code, who.Name, who.Role)
	fmt.Println(serve("PUT", "/admin/routes/users", "view-secret").Code) // a viewer may not write
	fmt.Println(serve("GET", "/admin/whoami", "wrong-secret").Code)      // an unknown secret
	// Output:
	// 200 dashboard viewer
	// 403
	// 401
}

// An operator purges a replica's cached answers under a path prefix after
// a deploy. The purge reaches the replica whose admin listener gets it:
// with several replicas, call each one.
func ExampleClient_PurgeCache() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "user")
	}))
	defer backend.Close()
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	_, _ = st.Save(context.Background(), 0, &spec.Config{
		Upstreams: map[string]spec.Upstream{"users": {Instances: []spec.Instance{{Addr: backend.Listener.Addr().String()}}}},
		Routes:    []spec.Route{{Name: "users", PathPrefix: "/users", Upstream: "users", Cache: &cache.Policy{}}},
	}, admin.Change{Actor: "seed"})

	// The replica: a gateway following the store, its Runtime owning the cache.
	reg := prometheus.NewRegistry()
	gw, _ := gateway.New(gateway.WithRegistry(reg), gateway.WithAccessLog(false))
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	loop := reload.NewLoop(admin.NewSource(st), admin.Apply(gw, rt), reload.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = loop.Load(context.Background())
	front := httptest.NewServer(gw)
	defer front.Close()
	for _, p := range []string{"/users/1", "/users/2"} {
		resp, _ := http.Get(front.URL + p)
		resp.Body.Close()
	}

	tokens, _ := admin.NewTokens(admin.Token{Name: "ops", SHA256: admin.HashToken("s3cret"), Role: "operator"})
	api, _ := admin.NewAPI(st, admin.Options{Tokens: tokens, PurgeCache: rt.PurgeCache, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := &admin.Client{URL: srv.URL, Token: "s3cret"}
	fmt.Println(c.PurgeCache(context.Background(), "/users/"))
	_, err := c.PurgeCache(context.Background(), "https://api.example.com/users/")
	fmt.Println(err.(*admin.Problem).Errors[0].Pointer)
	// Output:
	// 2 <nil>
	// /prefix
}
