// Command gatescale is the standalone gateway: it serves the routes of a
// YAML configuration file, reloads it on SIGHUP or when the file changes, and
// drains on SIGTERM. `gatescale demo` runs the gateway on embedded defaults
// with demo backends, load and a live view.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/term"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatescale:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  gatescale [run] -config FILE     serve the gateway described by FILE
  gatescale validate -config FILE  check FILE (and the files it names) and exit
  gatescale apikey [-id NAME]      make a random API key and print it with its hash
  gatescale demo [flags]           gateway + demo backends + load + live view
  gatescale plan -hpa HPA.yaml -qps TIMELINE.csv
  gatescale plan -hpa HPA.yaml -prometheus URL -query PROMQL [-start -1h -end now -step 15s]
                                   replay the HPA algorithm: replicas over time
  gatescale version                print version, commit and Go version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "validate" || args[0] == "demo" || args[0] == "plan" || args[0] == "apikey" || args[0] == "version" || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return serve(ctx, args, stderr, nil)
	case "validate":
		fs := flag.NewFlagSet("validate", flag.ContinueOnError)
		path := fs.String("config", "gatescale.yaml", "configuration file")
		if err := fs.Parse(args); err != nil {
			return err
		}
		loaded, err := config.Load(*path)
		if err != nil {
			return err
		}
		// Read the key, secret, certificate and consumers files too, as
		// run would, without contacting anything.
		rt := live.NewRuntime()
		defer rt.Close()
		if err := loaded.Check(rt); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok\n", *path)
		return nil
	case "apikey":
		return runAPIKey(args, stdout)
	case "demo":
		return runDemo(ctx, args, stdout)
	case "plan":
		return runPlan(ctx, args, stdout)
	case "version":
		return runVersion(args, stdout)
	default:
		fmt.Fprint(stdout, usage)
		return nil
	}
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	o := demo.Options{Out: stdout}
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "gateway address")
	fs.StringVar(&o.AdminListen, "admin-listen", "127.0.0.1:9090", "metrics and probes address")
	fs.Float64Var(&o.QPS, "qps", 60, "load generator rate")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	fs.BoolVar(&o.Consul, "consul", false, "run a Consul dev agent; backends register themselves (needs hack/build-consul.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.Terminal = true
	}
	return demo.Run(ctx, o)
}

// serve runs the gateway until ctx ends; ready, if set, gets the main
// listener's address.
func serve(ctx context.Context, args []string, stderr io.Writer, ready func(net.Addr)) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", "gatescale.yaml", "configuration file")
	logFormat := fs.String("log-format", "json", "json or text")
	watch := fs.Duration("watch", 2*time.Second, "how often to check the file for changes (0: only on SIGHUP)")
	register := fs.String("consul-register", "", "register this gateway in Consul under this service name (agent from CONSUL_HTTP_ADDR)")
	advertise := fs.String("advertise", "", "host:port to register (default: the listener's address)")
	adminStore := fs.String("admin-store", "", "keep upstreams, routes and consumers in an admin store instead of the file: file:PATH or consul:PREFIX (agent from CONSUL_HTTP_ADDR); the file then gives the listeners and seeds an empty store")
	adminTokens := fs.String("admin-tokens", "", "admin tokens file (hashed secrets, roles): serve the admin API under /admin/ on the admin listener (needs -admin-store)")
	consolePeers := fs.String("console-peers", "", "comma-separated admin listener URLs of the other replicas (http://10.0.0.6:9090), for the console's per-replica view")
	consoleProm := fs.String("console-prometheus", "", "URL of a Prometheus that scrapes every replica, for the console's cluster view")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *adminTokens != "" && *adminStore == "" {
		return errors.New("-admin-tokens needs -admin-store")
	}
	var handler slog.Handler = slog.NewJSONHandler(stderr, nil)
	if *logFormat == "text" {
		handler = slog.NewTextHandler(stderr, nil)
	}
	logger := slog.New(handler)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(logger))
	if err != nil {
		return err
	}
	defer gw.Close()

	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	defer rt.Close()
	reloads, err := reload.NewMetrics(reg, "gatescale")
	if err != nil {
		return err
	}
	// The first file applied is what the listeners are built from; later
	// ones are compared with it for the settings only a restart applies.
	var loaded *config.Loaded
	var tlsConfig *tls.Config
	apply := func(ctx context.Context, data []byte) (reload.Result, error) {
		l, err := config.Parse(*path, data)
		if err != nil {
			return reload.Result{}, err
		}
		if loaded == nil {
			if tlsConfig, err = l.TLSConfig(); err != nil {
				return reload.Result{}, err
			}
		}
		if err := l.Apply(ctx, gw, rt); err != nil {
			return reload.Result{}, err
		}
		if loaded == nil {
			loaded = l
		}
		return reload.Result{
			RestartRequired: config.RestartRequired(loaded, l),
			Attrs:           []slog.Attr{slog.Int("routes", len(l.Spec.Routes)), slog.Int("upstreams", len(l.Spec.Upstreams))},
		}, nil
	}
	var src reload.Source = reload.NewFile(*path, *watch)
	var adminAPI *admin.API
	if *adminStore != "" {
		// The file gives the listeners (read once); the store gives the
		// rest, followed by every replica.
		if loaded, err = config.Load(*path); err != nil {
			return err
		}
		if tlsConfig, err = loaded.TLSConfig(); err != nil {
			return err
		}
		st, err := openStore(ctx, *adminStore, &loaded.Spec)
		if err != nil {
			return err
		}
		vopts := []spec.Option{spec.WithClientTLS(loaded.TLS != nil && loaded.TLS.ClientCAFile != "")}
		src, apply = admin.NewSource(st), admin.Apply(gw, rt, vopts...)
		if *adminTokens != "" {
			tokens, err := admin.LoadTokens(*adminTokens)
			if err != nil {
				return err
			}
			if adminAPI, err = admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: logger, Registry: reg, Validate: vopts}); err != nil {
				return err
			}
		}
	}
	loop := reload.NewLoop(src, apply, reload.Options{Logger: logger, Metrics: reloads})
	if err := loop.Load(ctx); err != nil {
		return err
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); loop.Run(loopCtx) }()
	defer func() { stopLoop(); <-loopDone }()

	srv := &gateway.Server{
		Gateway: gw, Addr: loaded.Listen, AdminAddr: loaded.AdminListen, Gatherer: reg,
		DrainPeriod: loaded.DrainPeriod, ShutdownTimeout: loaded.ShutdownTimeout, Logger: logger, Ready: ready,
		// Security settings: TLS (and client certificates), header and
		// timeout limits; a change to these needs a restart (the reload
		// loop says which in its status and log).
		Handler: loaded.Middleware()(gw), TLSConfig: tlsConfig, MaxHeaderBytes: loaded.Server.MaxHeaderBytes,
		ReadHeaderTimeout: loaded.Server.ReadHeaderTimeout, IdleTimeout: loaded.Server.IdleTimeout,
		AdminHandlers: map[string]http.Handler{"GET /config": loop.StatusHandler()},
	}
	if adminAPI != nil {
		srv.AdminHandlers["/admin/"] = adminAPI
		// The operator console, on the same listener and tokens (docs/console.md).
		var peers []string
		if *consolePeers != "" {
			peers = strings.Split(*consolePeers, ",")
		}
		con, err := console.New(console.Options{Gateway: gw, Gatherer: reg, Guard: adminAPI.Guard, Peers: peers, PrometheusURL: *consoleProm, Logger: logger})
		if err != nil {
			return err
		}
		maps.Copy(srv.AdminHandlers, con.Handlers())
		go con.Run(loopCtx)
	}
	if *register != "" {
		self := &selfRegistration{service: *register, advertise: *advertise, logger: logger}
		srv.AdminReady = func(a net.Addr) { self.admin = a }
		srv.Ready = func(a net.Addr) {
			self.register(ctx, a)
			if ready != nil {
				ready(a)
			}
		}
		defer self.deregister()
	}
	return srv.Run(ctx)
}

// openStore opens the admin store named by flag; an empty store is seeded
// with seed (the file's declared state).
func openStore(ctx context.Context, flag string, seed *spec.Config) (admin.Store, error) {
	kind, arg, _ := strings.Cut(flag, ":")
	var st admin.Store
	switch {
	case kind == "file" && arg != "":
		st = admin.NewFile(arg)
	case kind == "consul" && arg != "":
		client, err := api.NewClient(api.DefaultConfig())
		if err != nil {
			return nil, err
		}
		st = admin.NewConsul(client, arg)
	default:
		return nil, fmt.Errorf("-admin-store %q: want file:PATH or consul:PREFIX", flag)
	}
	cur, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Revision == 0 {
		// Another replica seeding at once loses the CAS: fine, it is seeded.
		if _, err := st.Save(ctx, 0, seed, admin.Change{Actor: "gatescale", Message: "seeded from the configuration file"}); err != nil && !errors.Is(err, admin.ErrConflict) {
			return nil, err
		}
	}
	return st, nil
}

// selfRegistration registers the gateway's own listener in Consul with an
// HTTP check on /readyz: when the gateway starts draining its readiness
// fails, so Consul stops handing it out before it stops serving.
type selfRegistration struct {
	service, advertise string
	admin              net.Addr
	logger             *slog.Logger
	reg                *consul.Registrar
}

func (s *selfRegistration) register(ctx context.Context, listen net.Addr) {
	addr := s.advertise
	if addr == "" {
		addr = listen.String()
	}
	host, portStr, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		s.logger.Error("cannot register in Consul: bad -advertise", "addr", addr)
		return
	}
	client, err := consul.NewClient("", "")
	if err != nil {
		s.logger.Error("cannot register in Consul", "err", err.Error())
		return
	}
	reg := consul.Registration{Name: s.service, Address: host, Port: port, CheckInterval: time.Second}
	if s.admin != nil {
		reg.HealthURL = "http://" + s.admin.String() + "/readyz"
	}
	if s.reg, err = consul.Register(ctx, client, reg, consul.WithRegistrarLogger(s.logger)); err != nil {
		s.logger.Error("cannot register in Consul", "err", err.Error())
		return
	}
	s.logger.Info("registered in Consul", "service", s.service, "id", s.reg.ID())
}

func (s *selfRegistration) deregister() {
	if s.reg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.reg.Deregister(ctx); err != nil {
		s.logger.Warn("consul deregistration failed", "err", err.Error())
	}
}

// runAPIKey prints a new random API key and the consumers entry that holds
// its hash: the key goes to the consumer, only the hash into the file.
func runAPIKey(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("apikey", flag.ContinueOnError)
	id := fs.String("id", "key-1", "the key's id (not secret) for the consumers entry")
	prefix := fs.String("prefix", "gsk_", "prefix of the key, to recognise it in a leak scan")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, hash := consumer.GenerateKey(*prefix)
	fmt.Fprintf(stdout, "key (give it to the consumer; it is not stored): %s\n", key)
	fmt.Fprintf(stdout, "consumers entry: api_keys: [{id: %s, sha256: %s}]\n", *id, hash)
	return nil
}
