package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	cmmetrics "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/dynamicmapper"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/provider"
	"github.com/gatescale/gatescale/adapter/server"
	"github.com/gatescale/gatescale/gateway/reload"
)

// common are the flags serve and query share.
type common struct {
	prom              prom.Config
	configPath        string
	rateWindow        time.Duration
	listerKubeconfig  string
	discoveryInterval time.Duration
}

func (c *common) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.prom.URL, "prometheus-url", "http://localhost:9090", "Prometheus base URL (a path prefix is kept, e.g. http://thanos-query/prometheus).")
	fs.StringVar(&c.prom.BearerTokenFile, "prometheus-token-file", "", "File with a bearer token for Prometheus, re-read every minute.")
	fs.StringVar(&c.prom.CAFile, "prometheus-ca-file", "", "CA certificate to verify an HTTPS Prometheus.")
	fs.BoolVar(&c.prom.InsecureSkipVerify, "prometheus-insecure-skip-tls-verify", false, "Do not verify Prometheus's certificate.")
	fs.DurationVar(&c.prom.Timeout, "prometheus-timeout", 30*time.Second, "Timeout of each Prometheus request.")
	fs.StringVar(&c.configPath, "config", "", "Rules file in prometheus-adapter's format (rules, externalRules, resourceRules) plus gatescale's forecasts and discovery sections. Empty: the gateway preset.")
	fs.DurationVar(&c.rateWindow, "rate-window", config.DefaultRateWindow, "rate() window of the gateway preset (used only without --config).")
	fs.StringVar(&c.listerKubeconfig, "lister-kubeconfig", "", "kubeconfig of the cluster whose objects the metrics describe, used to list objects by label selector and to learn its resources (CRDs included). Empty: the in-cluster config, or, outside a cluster, a built-in list of resources and no listing by label.")
	fs.DurationVar(&c.discoveryInterval, "discovery-interval", 10*time.Minute, "How often to refresh the cluster's list of resources.")
}

// loadConfig reads --config, or returns the preset.
func (c *common) loadConfig() (*config.Config, error) {
	if c.configPath == "" {
		return config.GatewayPreset(c.rateWindow), nil
	}
	return config.Load(c.configPath)
}

// kubeAccess returns the REST mapper and object lister: from the cluster
// when there is a kubeconfig (or the adapter runs in one), built-in
// otherwise. The returned mapper refreshes itself until ctx ends. With
// watch, the lister keeps the objects it is asked for in watch-fed caches
// (a server answers the same selectors over and over); without, it lists
// them on every request (a one-shot query).
func (c *common) kubeAccess(ctx context.Context, watch bool) (apimeta.RESTMapper, kube.Objects, string, error) {
	var rc *rest.Config
	var err error
	switch {
	case c.listerKubeconfig != "":
		rc, err = clientcmd.BuildConfigFromFlags("", c.listerKubeconfig)
		if err != nil {
			return nil, nil, "", fmt.Errorf("--lister-kubeconfig: %w", err)
		}
	default:
		rc, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return kube.StaticMapper(), nil, "no cluster: built-in resources, objects by name only", nil
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("in-cluster config: %w", err)
		}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, nil, "", err
	}
	mapper, err := dynamicmapper.NewRESTMapper(dc, c.discoveryInterval)
	if err != nil {
		return nil, nil, "", fmt.Errorf("learning the cluster's resources from %s: %w", rc.Host, err)
	}
	mapper.RunUntil(ctx.Done())
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, nil, "", err
	}
	if !watch {
		return mapper, &kube.Dynamic{Client: dyn, Mapper: mapper}, "cluster " + rc.Host, nil
	}
	// Each resource is watched from its first request on (answered by a
	// LIST meanwhile): nothing competes with start-up and series discovery,
	// and an adapter serving only external metrics watches nothing.
	informed, err := kube.NewInformed(ctx, rc, mapper)
	if err != nil {
		return nil, nil, "", err
	}
	return mapper, informed, "cluster " + rc.Host + " (watched)", nil
}

// adapter is one `serve` run.
type adapter struct {
	common
	server     *server.Options
	relist     time.Duration
	configPoll time.Duration
	stderr     io.Writer

	// For tests: the provider and server once serve has built them, and
	// objects to use instead of the cluster's.
	mu       sync.Mutex
	provider *provider.Provider
	srv      *server.Server
	built    chan struct{}
	objects  kube.Objects
	watching <-chan struct{} // closed once SIGHUP is being handled
}

func newAdapter(args []string, stderr io.Writer) (*adapter, error) {
	a := &adapter{server: server.NewOptions(), stderr: stderr, built: make(chan struct{})}
	fs := pflag.NewFlagSet("gatescale-adapter serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	a.common.addFlags(fs)
	a.server.AddFlags(fs)
	fs.DurationVar(&a.relist, "metrics-relist-interval", time.Minute, "How often to list series for the rules; a request for a metric not yet known also lists them at once.")
	fs.DurationVar(&a.configPoll, "config-poll-interval", 5*time.Second, "How often to check --config for changes (it is also reloaded on SIGHUP).")
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	fs.AddGoFlagSet(gofs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return a, nil
}

var (
	metricsOnce    sync.Once
	adapterMetrics *provider.Metrics
	reloadMetrics  *reload.Metrics
)

// legacyRegisterer registers into the registry the API server serves at
// /metrics, next to its own metrics.
type legacyRegisterer struct{}

func (legacyRegisterer) Register(c prometheus.Collector) error {
	legacyregistry.RawMustRegister(c)
	return nil
}
func (r legacyRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}
func (legacyRegisterer) Unregister(prometheus.Collector) bool { return false }

// metrics registers the adapter's metrics once per process (a test runs
// several adapters in one). The reload metrics are
// gatescale_adapter_config_reloads_total{result} (named so since before
// package reload), _config_revision_info{revision} and the rest of
// reload.Metrics.
func metrics() (*provider.Metrics, *reload.Metrics) {
	metricsOnce.Do(func() {
		adapterMetrics = provider.NewMetrics(legacyRegisterer{})
		reloadMetrics, _ = reload.NewMetrics(legacyRegisterer{}, "gatescale_adapter")
		_ = cmmetrics.RegisterMetrics(legacyregistry.Register)
	})
	return adapterMetrics, reloadMetrics
}

func (a *adapter) serve(ctx context.Context) error {
	servePprof()
	m, reloads := metrics()
	logger := slog.New(logr.ToSlogHandler(klog.Background()))
	// The rules file goes through the reload loop from the start, so that
	// its revision is reported from the first load; the loop applies to
	// the provider once there is one.
	var (
		cfg, started *config.Config
		p            *provider.Provider
		loop         *reload.Loop
		file         *reload.File
	)
	apply := func(_ context.Context, data []byte) (reload.Result, error) {
		c, err := config.Parse(a.configPath, data)
		if err != nil {
			return reload.Result{}, err
		}
		if p != nil {
			if err := p.SetConfig(c); err != nil {
				return reload.Result{}, err
			}
		}
		cfg = c
		if started == nil {
			started = c
		}
		for _, w := range c.Warnings() {
			klog.InfoS("configuration warning", "warning", w.Error())
		}
		return reload.Result{
			RestartRequired: restartRequired(started, c),
			Attrs:           []slog.Attr{slog.Int("rules", len(c.Rules)), slog.Int("externalRules", len(c.ExternalRules))},
		}, nil
	}
	if a.configPath == "" {
		cfg = config.GatewayPreset(a.rateWindow)
	} else {
		file = reload.NewFile(a.configPath, a.configPoll)
		loop = reload.NewLoop(file, apply, reload.Options{Logger: logger, Metrics: reloads})
		if err := loop.Load(ctx); err != nil {
			return err
		}
	}
	a.prom.Logger = logger
	pc, err := prom.New(a.prom)
	if err != nil {
		return err
	}
	mapper, objects, where, err := a.kubeAccess(ctx, true)
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.objects != nil {
		objects, where = a.objects, "objects given by the caller"
	}
	a.mu.Unlock()
	disc := prom.NewDiscoverer(pc, prom.DiscovererOptions{Interval: a.relist, Lookback: cfg.DiscoveryLookback()})
	disc.Observe = m.ObserveDiscovery
	p, err = provider.New(cfg, provider.Options{
		Prometheus: pc, Discoverer: disc, Mapper: mapper, Objects: objects, Metrics: m, Logger: logger,
	})
	if err != nil {
		return err
	}
	srv, err := server.New(a.server, server.Providers{Custom: p, External: p, Resource: p})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.provider, a.srv = p, srv
	if file != nil {
		a.watching = file.Watching()
	}
	a.mu.Unlock()
	close(a.built)
	source, revision := "gateway preset", ""
	if loop != nil {
		source, revision = a.configPath, loop.Status().Revision
	}
	klog.InfoS("serving", "address", srv.Addr.String(), "prometheus", pc.URL(), "config", source, "revision", revision, "rules", len(cfg.Rules), "externalRules", len(cfg.ExternalRules),
		"custom", a.server.Custom, "external", a.server.External, "resource", a.server.Resource && cfg.ResourceRules != nil, "objects", where)

	var wg sync.WaitGroup
	wg.Go(func() { disc.Run(ctx) })
	if loop != nil {
		// --config is reloaded on SIGHUP and when its content changes
		// (polled: a ConfigMap volume changes by swapping a symlink, which
		// file watches miss). A file that does not load is refused with
		// its errors and the configuration in force stays.
		wg.Go(func() { loop.Run(ctx) })
	}
	err = srv.Run(ctx)
	wg.Wait()
	return err
}

// restartRequired names the rules-file settings that the running adapter
// read once at start-up: the discovery lookback sizes the discoverer. The
// flags are process-level by nature; everything else of the file reloads.
func restartRequired(started, next *config.Config) []string {
	if started.DiscoveryLookback() != next.DiscoveryLookback() {
		return []string{"discovery.lookback"}
	}
	return nil
}

func runValidate(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("gatescale-adapter validate", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "rules file to check")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *path == "" {
		return fmt.Errorf("validate needs --config FILE")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	// Compile too, against the built-in resources: an override naming an
	// unknown resource is caught here rather than at start-up (a CRD
	// resource shows up here as unknown; serve checks it against the
	// cluster).
	if _, err := provider.New(cfg, provider.Options{Mapper: kube.StaticMapper()}); err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: ok (%d rules, %d external rules, resource rules: %v, %d forecasts)\n", *path, len(cfg.Rules), len(cfg.ExternalRules), cfg.ResourceRules != nil, len(cfg.Forecasts))
	return nil
}

func runPreset(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("gatescale-adapter preset", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	w := fs.Duration("rate-window", config.DefaultRateWindow, "rate() window")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	_, err := stdout.Write(config.GatewayPresetYAML(*w))
	return err
}
