package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/liveview"
	"github.com/gatescale/gatescale/internal/loadgen"
)

// Options configure a demo run.
type Options struct {
	// Listen is the gateway's address (default 127.0.0.1:8080).
	Listen string
	// AdminListen serves /metrics and the probes (default 127.0.0.1:9090).
	AdminListen string
	// QPS is the load generator's steady rate (default 60); 0 disables it
	// when NoLoad is set.
	QPS    float64
	NoLoad bool
	// Duration stops the demo after this long; 0 runs until ctx ends.
	Duration time.Duration
	// Out receives the live view (default: discard).
	Out io.Writer
	// Terminal clears the screen between frames.
	Terminal bool
	// Every is the refresh period of the view (default 1s).
	Every time.Duration
	// Logger receives the gateway's logs (default: discard, so the view
	// stays readable).
	Logger *slog.Logger
	// Consul runs a real Consul dev agent: backends register themselves and
	// the gateway finds them through it (make demo-consul).
	Consul bool
	// Started, if set, is called with the gateway's and the admin
	// listener's addresses once both accept connections.
	Started func(gateway, admin net.Addr)
}

// backend is one in-process demo service instance.
type backend struct {
	name    string
	latency time.Duration // mean
	errRate float64
	srv     *http.Server
	ln      net.Listener
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		return
	}
	// Exponential-ish latency around the mean, so p99 differs from p50.
	d := time.Duration(rand.ExpFloat64() * float64(b.latency))
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	if rand.Float64() < b.errRate {
		http.Error(w, `{"error":"demo failure"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"service": b.name, "instance": b.ln.Addr().String(), "path": r.URL.Path,
		"request_id": r.Header.Get("X-Request-Id"), "user_id": 42,
	})
}

func startBackend(name string, latency time.Duration, errRate float64) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{name: name, latency: latency, errRate: errRate, ln: ln}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Config returns the demo's gateway configuration for the given backends.
func Config(users, orders, catalog []string) gateway.Config {
	inst := func(addrs []string, weights ...int) []discovery.Instance {
		out := make([]discovery.Instance, len(addrs))
		for i, a := range addrs {
			out[i] = discovery.Instance{Addr: a}
			if i < len(weights) {
				out[i].Weight = weights[i]
			}
		}
		return out
	}
	passive := &health.Passive{ConsecutiveFailures: 5, BaseEjection: 10 * time.Second}
	return gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "users", Instances: inst(users), Balancer: balance.P2C{}, PassiveHealth: passive},
			{Name: "orders", Instances: inst(orders), Balancer: balance.RoundRobin{},
				Retry: gateway.RetrySpec{Attempts: 2, Statuses: []int{500, 502, 503, 504}}},
			{Name: "catalog", Instances: inst(catalog, 3, 1), Balancer: balance.Weighted{}, PassiveHealth: passive},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users", Timeout: spec.Duration(2 * time.Second)}},
			{Route: spec.Route{Name: "orders", Path: "/orders/{id}", Methods: []string{"GET"}, Rewrite: "/v1/orders/{id}", Upstream: "orders", Timeout: spec.Duration(2 * time.Second)}},
			{Route: spec.Route{Name: "catalog", PathPrefix: "/api/catalog", StripPrefix: "/api", Upstream: "catalog", Timeout: spec.Duration(2 * time.Second)}},
			// One request, three backend calls: the order, then the user it
			// names, and the catalog at the same time (optional).
			{Route: spec.Route{Name: "order-page", Path: "/order-page/{id}", Methods: []string{"GET"}, Timeout: spec.Duration(2 * time.Second),
				Composite: &compose.Composite{Calls: []compose.Call{
					{Name: "order", Upstream: "orders", Path: "/v1/orders/{id}"},
					{Name: "user", Upstream: "users", Path: "/users/{order.user_id}", Group: "user"},
					{Name: "catalog", Upstream: "catalog", Path: "/catalog/featured", Group: "featured", Optional: true},
				}}}},
		},
	}
}

// Run runs the demo until ctx ends (or Duration passes) and stops
// everything it started.
func Run(ctx context.Context, o Options) error {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.AdminListen == "" {
		o.AdminListen = "127.0.0.1:9090"
	}
	if o.QPS == 0 {
		o.QPS = 60
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Every == 0 {
		o.Every = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	var backends []*backend
	defer func() {
		for _, b := range backends {
			_ = b.srv.Close()
		}
	}()
	addrs := map[string][]string{}
	for _, spec := range []struct {
		name    string
		n       int
		latency time.Duration
		errRate float64
	}{{"users", 2, 5 * time.Millisecond, 0}, {"orders", 1, 15 * time.Millisecond, 0.02}, {"catalog", 2, 3 * time.Millisecond, 0}} {
		for range spec.n {
			b, err := startBackend(spec.name, spec.latency, spec.errRate)
			if err != nil {
				return err
			}
			backends = append(backends, b)
			addrs[spec.name] = append(addrs[spec.name], b.ln.Addr().String())
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(o.Logger))
	if err != nil {
		return err
	}
	defer gw.Close()
	cfg := Config(addrs["users"], addrs["orders"], addrs["catalog"])
	consulNote, consulAddr := "", ""
	if o.Consul {
		agent, err := startConsul(ctx, io.Discard)
		if err != nil {
			return err
		}
		defer agent.stop()
		client, err := consul.NewClient(agent.addr, "")
		if err != nil {
			return err
		}
		for _, b := range backends {
			host, port, _ := net.SplitHostPort(b.ln.Addr().String())
			p, _ := strconv.Atoi(port)
			r, err := consul.Register(ctx, client, consul.Registration{Name: b.name, Address: host, Port: p,
				HealthURL: "http://" + b.ln.Addr().String() + "/healthz", CheckInterval: time.Second},
				consul.WithRegistrarLogger(o.Logger))
			if err != nil {
				return err
			}
			defer r.Deregister(context.Background())
		}
		consulAddr = agent.addr
		consulNote = fmt.Sprintf("consul: http://%s/ui  (backends registered themselves; try: consul services deregister)\n", agent.addr)
	}
	// The state lives in an admin store the console changes; the reload
	// loop applies it to the gateway, as on every replica of gatescale run.
	ac, err := startAdminConsole(ctx, gw, reg, SpecConfig(cfg, consulAddr), o.Logger)
	if err != nil {
		return err
	}
	defer ac.close()
	if err := ac.loop.Load(ctx); err != nil {
		return err
	}
	if o.Consul {
		// Consul starts HTTP checks critical; serve once every backend passed.
		deadline := time.Now().Add(15 * time.Second)
		for _, u := range cfg.Upstreams {
			for gw.Upstream(u.Name).Admitted() < len(addrs[u.Name]) {
				if time.Now().After(deadline) || ctx.Err() != nil {
					return fmt.Errorf("backends of %s did not pass their Consul checks in time", u.Name)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("gateway listener: %w (is another demo running? use -listen)", err)
	}
	adminLn, err := net.Listen("tcp", o.AdminListen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("admin listener: %w (use -admin-listen)", err)
	}
	srv := &gateway.Server{Gateway: gw, Listener: ln, AdminListener: adminLn, Gatherer: reg,
		DrainPeriod: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: o.Logger,
		AdminHandlers: ac.handlers}

	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Add(3)
	go func() { defer wg.Done(); serveErr <- srv.Run(ctx) }()
	go func() { defer wg.Done(); ac.loop.Run(ctx) }()
	go func() { defer wg.Done(); ac.console.Run(ctx) }()
	if o.Started != nil {
		o.Started(ln.Addr(), adminLn.Addr())
	}

	base := "http://" + ln.Addr().String()
	paths := []string{"/users/42", "/users/7/profile", "/orders/1001", "/api/catalog/items", "/api/catalog/items/9", "/order-page/1001"}
	if !o.NoLoad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &loadgen.Runner{
				Profile: loadgen.Profile{{Duration: 5 * time.Second, From: 0, To: o.QPS}, {Duration: 24 * time.Hour, From: o.QPS, To: o.QPS}},
				NewRequest: func(ctx context.Context, n int64) (*http.Request, error) {
					return http.NewRequestWithContext(ctx, http.MethodGet, base+paths[n%int64(len(paths))], nil)
				},
			}
			r.Run(ctx)
		}()
	}

	header := fmt.Sprintf("gatescale demo — gateway http://%s  metrics http://%s/metrics  (Ctrl-C to stop)\n"+
		"try: curl %s/users/1   curl %s/orders/7   curl %s/api/catalog/x   curl %s/order-page/7 (one request, three calls)\n"+
		"console: http://%s/console/  admin token: %s  (this run only)\n%s",
		ln.Addr(), adminLn.Addr(), base, base, base, base, adminLn.Addr(), ac.token, consulNote)
	out := o.Out
	if o.Terminal {
		out = &headerWriter{w: o.Out, header: header} // the banner survives each screen clear
	} else {
		fmt.Fprint(o.Out, header)
	}
	viewErr := liveview.Run(ctx, reg, out, o.Every, o.Terminal)
	wg.Wait()
	if err := <-serveErr; err != nil {
		return err
	}
	if viewErr != nil && ctx.Err() == nil {
		return viewErr
	}
	return nil
}

// headerWriter prints the demo's banner at the top of every frame.
type headerWriter struct {
	w      io.Writer
	header string
	mu     sync.Mutex
}

func (h *headerWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := string(p)
	if i := strings.Index(s, liveview.ClearScreen); i >= 0 {
		s = s[:i+len(liveview.ClearScreen)] + h.header + s[i+len(liveview.ClearScreen):]
	}
	if _, err := io.WriteString(h.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
