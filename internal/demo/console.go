package demo

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
)

// SpecConfig is Config as the declarative model, so the demo's state lives
// in an admin store and the console (through the admin API) can change it.
// consulAddr, when set, makes every upstream discovered through Consul.
func SpecConfig(c gateway.Config, consulAddr string) spec.Config {
	out := spec.Config{Upstreams: map[string]spec.Upstream{}}
	for _, u := range c.Upstreams {
		su := spec.Upstream{Retry: spec.Retry{Attempts: u.Retry.Attempts, Statuses: u.Retry.Statuses}}
		su.Balancer = balancerName(u)
		for _, in := range u.Instances {
			su.Instances = append(su.Instances, spec.Instance{Addr: in.Addr, Weight: in.Weight})
		}
		if p := u.PassiveHealth; p != nil {
			su.PassiveHealth = &spec.PassiveHealth{ConsecutiveFailures: int(p.ConsecutiveFailures), BaseEjection: spec.Duration(p.BaseEjection)}
		}
		if consulAddr != "" {
			su.Discovery, su.Instances = "consul", nil
		}
		out.Upstreams[u.Name] = su
	}
	if consulAddr != "" {
		out.Consul = &spec.ConsulAgent{Address: consulAddr}
	}
	for _, r := range c.Routes {
		out.Routes = append(out.Routes, r.Route)
	}
	// A draft API to publish from the console.
	out.Routes = append(out.Routes, spec.Route{Name: "users-v2", PathPrefix: "/v2/users", StripPrefix: "/v2", Upstream: "users",
		Timeout: spec.Duration(2 * time.Second), Lifecycle: &spec.Lifecycle{State: spec.LifecycleDraft}})
	return out
}

func balancerName(u gateway.UpstreamSpec) string {
	switch u.Balancer.(type) {
	case balance.RoundRobin:
		return "round_robin"
	case balance.Weighted:
		return "weighted"
	}
	return "p2c"
}

// adminConsole is the demo's admin API (a file store in a temporary
// directory) and console, and the reload loop that applies the store.
type adminConsole struct {
	loop     *reload.Loop
	handlers map[string]http.Handler
	console  *console.Console
	token    string
	close    func()
}

func startAdminConsole(ctx context.Context, gw *gateway.Gateway, reg *prometheus.Registry, cfg spec.Config, logger *slog.Logger) (*adminConsole, error) {
	dir, err := os.MkdirTemp("", "gatescale-demo-")
	if err != nil {
		return nil, err
	}
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	st.Every = 200 * time.Millisecond
	if _, err := st.Save(ctx, 0, &cfg, admin.Change{Actor: "demo", Message: "the demo's routes"}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	closeAll := func() { rt.Close(); os.RemoveAll(dir) }
	// A fresh secret each run: only its hash is kept.
	secret, _ := consumer.GenerateKey("gsa_demo_")
	tokens, err := admin.NewTokens(admin.Token{Name: "demo", Role: "admin", SHA256: admin.HashToken(secret)})
	if err != nil {
		closeAll()
		return nil, err
	}
	api, err := admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: logger, Registry: reg})
	if err != nil {
		closeAll()
		return nil, err
	}
	con, err := console.New(console.Options{Gateway: gw, Gatherer: reg, Guard: api.Guard, Logger: logger})
	if err != nil {
		closeAll()
		return nil, err
	}
	handlers := con.Handlers()
	handlers["/admin/"] = api
	loop := reload.NewLoop(admin.NewSource(st), admin.Apply(gw, rt), reload.Options{Logger: logger})
	return &adminConsole{loop: loop, handlers: handlers, console: con, token: secret, close: closeAll}, nil
}
