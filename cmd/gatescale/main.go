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
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/term"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
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
  gatescale admin COMMAND          call the admin API: get, put, delete, lifecycle, key, diff,
                                   rollback (gatescale admin -h lists them)
  gatescale demo [flags]           gateway + demo backends + load + live view
  gatescale plan -hpa HPA.yaml -qps TIMELINE.csv
  gatescale plan -hpa HPA.yaml -prometheus URL -query PROMQL [-start -1h -end now -step 15s]
                                   replay the HPA algorithm: replicas over time
  gatescale version                print version, commit and Go version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "validate" || args[0] == "demo" || args[0] == "plan" || args[0] == "apikey" || args[0] == "admin" || args[0] == "version" || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
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
		// Warnings do not fail validation (route_shadowing: refuse makes
		// its findings errors); they are printed above the verdict.
		for _, w := range loaded.Warnings {
			fmt.Fprintf(stdout, "warning: %v\n", w)
		}
		if n := len(loaded.Warnings); n > 0 {
			fmt.Fprintf(stdout, "%s: ok, %d warning(s)\n", *path, n)
			return nil
		}
		fmt.Fprintf(stdout, "%s: ok\n", *path)
		return nil
	case "apikey":
		return runAPIKey(args, stdout)
	case "admin":
		return runAdmin(ctx, args, stdout)
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
	consoleHPA := fs.String("console-hpa", "", "NAMESPACE/NAME of the HorizontalPodAutoscaler scaling this gateway, for the console's autoscaling view (read through the Kubernetes API; hidden when it cannot be read)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *adminTokens != "" && *adminStore == "" {
		return errors.New("-admin-tokens needs -admin-store")
	}
	// One lock for the process log and the access log on stderr: their
	// lines never interleave.
	stderr = &syncWriter{w: stderr}
	var handler slog.Handler = slog.NewJSONHandler(stderr, nil)
	accessFormat := accesslog.FormatJSON // the access log's format when the file names none
	if *logFormat == "text" {
		handler = slog.NewTextHandler(stderr, nil)
		accessFormat = accesslog.FormatText
	}
	logger := slog.New(handler)

	// The access log follows the file's access_log section, reload after
	// reload; its output file is reopened on SIGHUP (log rotation).
	accessLog, err := accesslog.New(accesslog.Options{Format: accessFormat, Writer: stderr})
	if err != nil {
		return err
	}
	defer accessLog.Close()
	accessLog.ReopenOn(ctx, func(err error) { logger.Error("access log not reopened", "err", err.Error()) })

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The tracer is built once, from the file the process starts with: a
	// change to tracing needs a restart (config.RestartRequired names it).
	boot, err := config.Load(*path)
	if err != nil {
		return err
	}
	tracer, err := tracing.New(ctx, boot.Tracing)
	if err != nil {
		return err
	}
	defer func() { // after the server stopped: export what is buffered
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(sctx); err != nil {
			logger.Warn("tracing: flush on shutdown failed", "err", err)
		}
	}()
	logger.Info("tracing", "export", tracer.String())
	if tracer == nil && boot.File.Tracing != nil {
		logger.Warn("tracing section present but tracing is off: no endpoint in it nor in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, or OTEL_SDK_DISABLED=true / OTEL_TRACES_EXPORTER=none")
	}
	gw, err := gateway.New(append(boot.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithLogger(logger), gateway.WithTracing(tracer),
		gateway.WithAccessLog(false), gateway.WithMiddleware(accessLog.Middleware))...)
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
	// A parsed file that fails to build, or whose files cannot be opened,
	// lacks something outside it (a key file, an environment variable, a
	// log directory): reload.Retryable, so the loop applies it again on its
	// own. What Parse or the gateway refuses waits for a new file.
	apply := func(ctx context.Context, data []byte) (reload.Result, error) {
		l, err := config.Parse(*path, data)
		if err != nil {
			return reload.Result{}, err
		}
		if loaded == nil {
			if tlsConfig, err = l.TLSConfig(); err != nil {
				return reload.Result{}, reload.Retryable(err)
			}
		}
		access, err := prepareAccessLog(l, accessLog, accessFormat, stderr)
		if err != nil {
			return reload.Result{}, reload.Retryable(err)
		}
		built, err := l.Build(rt)
		if err != nil {
			access.Discard()
			return reload.Result{}, reload.Retryable(err)
		}
		if err := gw.Apply(ctx, built.Gateway); err != nil {
			built.Discard()
			access.Discard()
			return reload.Result{}, l.Locate(err)
		}
		built.Commit()
		access.Commit()
		if loaded == nil {
			loaded = l
		}
		warnings := make([]string, len(l.Warnings))
		for i, w := range l.Warnings {
			warnings[i] = w.Error()
		}
		return reload.Result{
			RestartRequired: config.RestartRequired(loaded, l),
			Attrs:           []slog.Attr{slog.Int("routes", len(l.Spec.Routes)), slog.Int("upstreams", len(l.Spec.Upstreams))},
			Warnings:        warnings,
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
		access, err := prepareAccessLog(loaded, accessLog, accessFormat, stderr)
		if err != nil {
			return err
		}
		access.Commit()
		st, err := openStore(ctx, *adminStore, &loaded.Spec)
		if err != nil {
			return err
		}
		vopts := []spec.Option{spec.WithClientTLS(loaded.TLS != nil && loaded.TLS.ClientCAFile != "")}
		src, apply = admin.NewSource(st), withWarnings(admin.Apply(gw, rt, vopts...))
		if *adminTokens != "" {
			tokens, err := admin.LoadTokens(*adminTokens)
			if err != nil {
				return err
			}
			if adminAPI, err = admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: logger, Registry: reg, Validate: vopts, Check: rt.Check, PurgeCache: rt.PurgeCache}); err != nil {
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
		Handler: gw, TLSConfig: tlsConfig, MaxHeaderBytes: loaded.Server.MaxHeaderBytes,
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
		opts := console.Options{Gateway: gw, Gatherer: reg, Guard: adminAPI.Guard, Peers: peers, PrometheusURL: *consoleProm, Logger: logger}
		if *consoleHPA != "" {
			opts.Autoscaling = autoscalingView(ctx, rt, *consoleHPA, logger)
		}
		con, err := console.New(opts)
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

// withWarnings adds to the result of an admin store revision the warnings
// of its state (live.Warnings: route shadowing), as the file's apply does,
// so the reload log and status show them in both modes.
func withWarnings(apply reload.ApplyFunc) reload.ApplyFunc {
	return func(ctx context.Context, data []byte) (reload.Result, error) {
		res, err := apply(ctx, data)
		if err != nil {
			return res, err
		}
		if st, derr := admin.Decode(data); derr == nil {
			for _, fe := range live.Warnings(&st.Config) {
				res.Warnings = append(res.Warnings, fe.Pointer()+": "+fe.Message)
			}
		}
		return res, nil
	}
}

// prepareAccessLog prepares l's access_log section; output stderr is the
// command's stderr (the same stream as the rest of the log).
func prepareAccessLog(l *config.Loaded, log *accesslog.Log, format accesslog.Format, stderr io.Writer) (*accesslog.Pending, error) {
	if o := &l.AccessLog; o.Output == "" || o.Output == accesslog.OutputStderr {
		o.Output, o.Writer = "", stderr
	}
	return l.PrepareAccessLog(log, format)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
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
// fails, so Consul stops handing it out before it stops serving. A first
// attempt that fails (the local agent not up yet: a sidecar that starts
// after the gateway, an agent restarting) is tried again in the
// background until it succeeds or the gateway stops.
type selfRegistration struct {
	service, advertise string
	admin              net.Addr
	logger             *slog.Logger

	mu       sync.Mutex
	reg      *consul.Registrar
	stop     context.CancelFunc // ends the retries
	retrying chan struct{}      // closed when they have ended
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
	attempt := func(ctx context.Context) error {
		r, err := consul.Register(ctx, client, reg, consul.WithRegistrarLogger(s.logger))
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.reg = r
		s.mu.Unlock()
		s.logger.Info("registered in Consul", "service", s.service, "id", r.ID())
		return nil
	}
	if err = attempt(ctx); err == nil {
		return
	}
	s.logger.Warn("cannot register in Consul yet; trying again in the background", "err", err.Error())
	rctx, stop := context.WithCancel(ctx)
	s.stop, s.retrying = stop, make(chan struct{})
	go func() {
		defer close(s.retrying)
		for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
			select {
			case <-rctx.Done():
				return
			case <-time.After(wait):
			}
			if err := attempt(rctx); err == nil || rctx.Err() != nil {
				return
			}
		}
	}()
}

func (s *selfRegistration) deregister() {
	if s.stop != nil {
		s.stop()
		<-s.retrying
	}
	s.mu.Lock()
	reg := s.reg
	s.mu.Unlock()
	if reg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Deregister(ctx); err != nil {
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

// autoscalingView returns the console's view of the HPA ns/name, or nil
// (the view hidden) when it cannot be read: not in Kubernetes, no RBAC
// permission, no such HPA — said once in the log.
func autoscalingView(ctx context.Context, rt *live.Runtime, hpa string, logger *slog.Logger) func(context.Context) (console.Autoscaling, error) {
	ns, name, ok := strings.Cut(hpa, "/")
	if !ok || ns == "" || name == "" {
		logger.Warn("console: -console-hpa wants NAMESPACE/NAME; autoscaling view hidden", "value", hpa)
		return nil
	}
	client, err := rt.Kubernetes()
	if err == nil {
		view := console.HPA(client, ns, name)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err = view(cctx); err == nil {
			return view
		}
	}
	logger.Warn("console: the HPA cannot be read; autoscaling view hidden", "hpa", hpa, "err", err.Error())
	return nil
}
