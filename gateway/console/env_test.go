package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
)

// The tokens of the test environment, one per role.
const (
	adminSecret    = "gsa_test_admin_secret"
	operatorSecret = "gsa_test_operator_secret"
	viewerSecret   = "gsa_test_viewer_secret"
)

// env is a real gateway: backends on loopback, the admin API over a file
// store followed by a reload loop, the console on the admin listener, and
// load from a goroutine.
type env struct {
	gw      *gateway.Gateway
	base    string // the gateway's main listener
	admin   string // the admin listener
	console *console.Console
	store   *admin.File
}

// backend answers JSON like a small service: /orders/N names a user.
func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"service": name, "path": r.URL.Path, "user_id": 7, "id": 5})
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func seed(users, orders, catalog string) spec.Config {
	timeout := spec.Duration(2 * time.Second)
	return spec.Config{
		Upstreams: map[string]spec.Upstream{
			"users":   {Instances: []spec.Instance{{Addr: users}}},
			"orders":  {Instances: []spec.Instance{{Addr: orders}}},
			"catalog": {Instances: []spec.Instance{{Addr: catalog}}},
		},
		Routes: []spec.Route{
			{Name: "users", PathPrefix: "/users", Upstream: "users", Timeout: timeout,
				RateLimit: []spec.RateLimitPolicy{{Rate: 1000, Per: spec.Duration(time.Second), Key: "ip"}}},
			{Name: "orders", Path: "/orders/{id}", Methods: []string{"GET"}, Upstream: "orders", Timeout: timeout},
			{Name: "order-page", Path: "/order-page/{id}", Methods: []string{"GET"}, Timeout: timeout,
				Composite: &compose.Composite{Calls: []compose.Call{
					{Name: "order", Upstream: "orders", Path: "/v1/orders/{id}"},
					{Name: "user", Upstream: "users", Path: "/users/{order.user_id}", Group: "user"},
					{Name: "catalog", Upstream: "catalog", Path: "/featured", Group: "featured", Optional: true},
				}}},
			{Name: "beta", PathPrefix: "/beta", Upstream: "users", Timeout: timeout, Lifecycle: &spec.Lifecycle{State: spec.LifecycleDraft}},
		},
		Consumers: []consumer.Consumer{{ID: "acme", Roles: []string{"partner"},
			APIKeys: []consumer.APIKey{{ID: "acme-1", SHA256: strings.Repeat("ab", 32)}}}},
	}
}

func newEnv(t *testing.T, every time.Duration) *env { t.Helper(); return newEnvWith(t, every, nil) }

// newEnvWith is newEnv with more console options.
func newEnvWith(t *testing.T, every time.Duration, more func(*console.Options)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.DiscardHandler)

	st := admin.NewFile(filepath.Join(t.TempDir(), "state.json"))
	st.Every = 50 * time.Millisecond
	cfg := seed(backend(t, "users"), backend(t, "orders"), backend(t, "catalog"))
	if _, err := st.Save(ctx, 0, &cfg, admin.Change{Actor: "test", Message: "seed"}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	loop := reload.NewLoop(admin.NewSource(st), admin.Apply(gw, rt), reload.Options{Logger: logger})
	if err := loop.Load(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := admin.NewTokens(
		admin.Token{Name: "alice", Role: "admin", SHA256: admin.HashToken(adminSecret)},
		admin.Token{Name: "olga", Role: "operator", SHA256: admin.HashToken(operatorSecret)},
		admin.Token{Name: "vic", Role: "viewer", SHA256: admin.HashToken(viewerSecret)},
	)
	if err != nil {
		t.Fatal(err)
	}
	api, err := admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: logger, Registry: reg,
		AuthFailures: ratelimit.Limit{Rate: 1000, Period: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	opts := console.Options{Gateway: gw, Gatherer: reg, Guard: api.Guard, Every: every, Logger: logger}
	if more != nil {
		more(&opts)
	}
	con, err := console.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	handlers := con.Handlers()
	handlers["/admin/"] = api

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &gateway.Server{Gateway: gw, Listener: ln, AdminListener: adminLn, Gatherer: reg, AdminHandlers: handlers,
		DrainPeriod: time.Millisecond, ShutdownTimeout: 2 * time.Second, Logger: logger}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	go func() { defer wg.Done(); loop.Run(ctx) }()
	go func() { defer wg.Done(); con.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		rt.Close()
		gw.Close()
	})
	e := &env{gw: gw, base: "http://" + ln.Addr().String(), admin: "http://" + adminLn.Addr().String(), console: con, store: st}
	e.load(ctx, t)
	return e
}

// load sends about 100 requests a second, spread over three APIs, until
// the test ends.
func (e *env) load(ctx context.Context, t *testing.T) {
	ctx, stop := context.WithCancel(ctx)
	client := &http.Client{Timeout: 2 * time.Second}
	paths := []string{"/users/1", "/orders/5", "/order-page/5", "/users/2"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+paths[n%len(paths)], nil)
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
}

// status is the gateway's answer status to GET path.
func (e *env) status(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus waits until GET path answers want (the reload loop applies a
// new revision within one store poll).
func (e *env) waitStatus(t *testing.T, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	got := 0
	for time.Now().Before(deadline) {
		if got = e.status(t, path); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %d, want %d", path, got, want)
}
