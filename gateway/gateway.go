package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/grpcproxy"
	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/mirror"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/refusallog"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
	"github.com/gatescale/gatescale/gateway/upstream"
	"github.com/gatescale/gatescale/internal/vary"
)

// Gateway routes requests to upstream services. It is an http.Handler:
// mount it on any router or serve it directly. The zero value is not usable;
// create one with New and give it a Config with Apply.
type Gateway struct {
	table atomic.Pointer[route.Table]

	logger       *slog.Logger
	metrics      *metrics.Metrics
	composite    *compose.Metrics
	mirrors      *mirror.Metrics
	transport    http.RoundTripper
	tracer       *tracing.Tracer
	middleware   []func(http.Handler) http.Handler
	accessLog    bool
	refusals     *refusallog.Logger
	refusalOpts  refusallog.Options
	maxHeaders   int // header field lines a request may have
	readyTimeout time.Duration

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex // serialises Apply and Close
	upstreams map[string]*liveUpstream
	// mirrorOf is each route's Mirror in the table: the next build of the
	// route shares its count of copies in flight.
	mirrorOf map[string]*mirror.Mirror
	// live is the same map for readers on the request path, which must not
	// wait for an Apply in progress.
	live     atomic.Pointer[map[string]*liveUpstream]
	applied  atomic.Bool
	draining atomic.Bool
	wasReady atomic.Bool // readiness latches: see Ready
}

type liveUpstream struct {
	spec   UpstreamSpec
	static *discovery.Static // set when the gateway owns a static resolver
	up     *upstream.Upstream
	proxy  *proxy.Proxy
}

// Option configures a Gateway.
type Option func(*Gateway) error

// WithRegistry registers the gateway's metrics on reg (see docs/metrics.md).
// Without it the gateway records no metrics.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(g *Gateway) error {
		m, err := metrics.New(reg)
		if err != nil {
			return fmt.Errorf("gateway metrics: %w", err)
		}
		g.metrics = m
		if g.composite, err = compose.NewMetrics(reg); err != nil {
			return fmt.Errorf("gateway metrics: %w", err)
		}
		if g.mirrors, err = mirror.NewMetrics(reg); err != nil {
			return fmt.Errorf("gateway metrics: %w", err)
		}
		return nil
	}
}

// WithLogger sets the logger for the access log and state changes.
func WithLogger(l *slog.Logger) Option {
	return func(g *Gateway) error { g.logger = l; return nil }
}

// WithAccessLog turns the per-request access log on or off (default on).
func WithAccessLog(on bool) Option {
	return func(g *Gateway) error { g.accessLog = on; return nil }
}

// DefaultMaxHeaderCount is the number of header field lines a request may
// have unless WithMaxHeaderCount says otherwise.
const DefaultMaxHeaderCount = 100

// WithMaxHeaderCount bounds the header field lines of a request (each value
// of a repeated header counts): more gets 431, counted in
// gatescale_http_refused_total{reason="too_many_headers"} and logged with
// the other refused requests. Many tiny headers fit in the server's
// MaxHeaderBytes yet cost a map entry each here and upstream.
func WithMaxHeaderCount(n int) Option {
	return func(g *Gateway) error {
		if n < 1 {
			return fmt.Errorf("gateway: max header count %d must be at least 1", n)
		}
		g.maxHeaders = n
		return nil
	}
}

// WithRefusalLog sets the budget of the log of requests refused before
// routing (see package refusallog; default 1 line/s and a burst of 5 per
// reason, the rest counted as suppressed). Those requests are left out of
// the access log, which a flood of them would flood.
func WithRefusalLog(o refusallog.Options) Option {
	return func(g *Gateway) error { g.refusalOpts = o; return nil }
}

// WithMiddleware adds middleware that runs on every route after request id,
// metrics and access log, before the route's own middleware.
func WithMiddleware(mw ...func(http.Handler) http.Handler) Option {
	return func(g *Gateway) error { g.middleware = append(g.middleware, mw...); return nil }
}

// WithTracing traces requests with t: a server span per request, started
// before the rest of the gateway-wide chain, and a client span per upstream
// attempt, with the trace context propagated upstream (see
// docs/operations.md). A nil t (tracing.New's answer when tracing is not
// configured) leaves the request path as without this option. The caller
// owns t and shuts it down after the server stops.
func WithTracing(t *tracing.Tracer) Option {
	return func(g *Gateway) error { g.tracer = t; return nil }
}

// WithTransport sets the RoundTripper for all upstreams (default:
// proxy.NewHTTP1Transport(proxy.NewTransport())).
func WithTransport(rt http.RoundTripper) Option {
	return func(g *Gateway) error { g.transport = rt; return nil }
}

// WithReadyTimeout bounds how long Apply waits for new upstreams' first
// instance sets before swapping the table anyway (default 10s).
func WithReadyTimeout(d time.Duration) Option {
	return func(g *Gateway) error { g.readyTimeout = d; return nil }
}

// New returns a Gateway with no routes; every request gets 404 until Apply.
func New(opts ...Option) (*Gateway, error) {
	g := &Gateway{
		logger:       slog.Default(),
		accessLog:    true,
		readyTimeout: 10 * time.Second,
		upstreams:    map[string]*liveUpstream{},
		maxHeaders:   DefaultMaxHeaderCount,
	}
	for _, opt := range opts {
		if err := opt(g); err != nil {
			return nil, err
		}
	}
	if g.transport == nil {
		g.transport = proxy.NewHTTP1Transport(proxy.NewTransport())
	}
	g.refusals = refusallog.New(g.logger, g.refusalOpts)
	g.ctx, g.cancel = context.WithCancel(context.Background())
	empty, err := route.NewTable(nil)
	if err != nil {
		return nil, err
	}
	g.table.Store(empty)
	g.live.Store(&map[string]*liveUpstream{})
	return g, nil
}

// ServeHTTP routes r through the current route table.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.table.Load().ServeHTTP(w, r)
}

// Apply validates cfg, builds its upstreams and routes, and swaps them in
// atomically. On error nothing changes: the running configuration stays in
// force. Upstreams whose spec did not change are kept with their load and
// health state; requests in flight finish on the table they started with.
func (g *Gateway) Apply(ctx context.Context, cfg Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx.Err() != nil {
		return errors.New("gateway is closed")
	}
	if err := validate(cfg); err != nil {
		return err
	}

	next := map[string]*liveUpstream{}
	var created []*liveUpstream
	var restatic []func()
	for _, spec := range cfg.Upstreams {
		old := g.upstreams[spec.Name]
		if old != nil && sameSpec(old.spec, spec) {
			next[spec.Name] = old
			continue
		}
		if old != nil && old.static != nil && spec.Resolver == nil && sameExceptInstances(old.spec, spec) {
			lu := &liveUpstream{spec: spec, static: old.static, up: old.up, proxy: old.proxy}
			next[spec.Name] = lu
			restatic = append(restatic, func() { lu.static.Set(lu.up.Name(), spec.Instances) })
			continue
		}
		var prev *upstream.Upstream
		if old != nil {
			prev = old.up
		}
		lu := g.newUpstream(spec, prev)
		next[spec.Name] = lu
		created = append(created, lu)
	}

	routes := make([]route.Route, 0, len(cfg.Routes))
	nextMirrors := map[string]*mirror.Mirror{}
	for _, rs := range cfg.Routes {
		rt := rs
		rt.Middleware = nil
		if rs.MaxBodyBytes > 0 {
			rt.Middleware = append(rt.Middleware, proxy.LimitBody(int64(rs.MaxBodyBytes)))
		}
		rt.Middleware = append(rt.Middleware, rs.Middleware...)
		if rt.Handler == nil && rs.Composite != nil {
			plan, err := compose.New(rs.Name, rs.Path+rs.PathPrefix, *rs.Composite,
				compose.WithTransports(func(name string) http.RoundTripper {
					if lu := next[name]; lu != nil {
						return lu.proxy // balanced, retried, ejected like proxied requests
					}
					return nil
				}), compose.WithMetrics(g.composite), compose.WithLogger(g.logger))
			if err != nil {
				return err
			}
			rt.Handler = plan
		}
		if rt.Handler == nil {
			rt.Handler = next[rs.Upstream].proxy
			if len(rs.Variants) > 0 {
				vs := newVariants(rs.Variants, next, rs.Upstream, rt.Handler)
				rt.Handler = vs
				if len(vs.byWeight) > 0 {
					rt.Middleware = append([]func(http.Handler) http.Handler{vs.draw}, rt.Middleware...)
				}
			}
		}
		if rs.Mirror != nil {
			// The mirror upstream's own proxy: its copies are balanced,
			// health-checked and measured as that upstream's requests. Copies
			// live with the gateway, not the table: a reload lets them
			// finish, Close cuts them.
			m, err := mirror.New(rs.Name, *rs.Mirror, next[rs.Mirror.Upstream].proxy,
				mirror.WithMetrics(g.mirrors), mirror.WithContext(g.ctx), mirror.WithLogger(g.logger),
				mirror.WithPrevious(g.mirrorOf[rs.Name]))
			if err != nil {
				return err
			}
			nextMirrors[rs.Name] = m
			rt.Handler = m.Middleware(rt.Handler)
		}
		routes = append(routes, rt)
	}
	table, err := route.NewTable(routes, route.WithMiddleware(g.globalMiddleware()...),
		route.WithRefusedMiddleware(g.refusedMiddleware()...), route.WithTrustedProxies(cfg.TrustedProxies...),
		route.WithMaxHeaderCount(g.maxHeaders))
	if err != nil {
		return err // nothing was started
	}

	for _, lu := range created {
		lu.up.Start(g.ctx)
	}
	for _, f := range restatic {
		f()
	}
	g.waitReady(ctx, created)

	for _, lu := range created {
		// The upstreams they replace served until now: what happened to
		// their instances since the new ones' first sets is not lost.
		lu.up.TakeOver()
	}
	old := g.table.Load()
	g.table.Store(table)
	g.applied.Store(true)
	if g.metrics != nil {
		for _, name := range removedRoutes(old, cfg.Routes) {
			g.metrics.ForgetRoute(name)
			g.composite.ForgetRoute(name)
			g.mirrors.ForgetRoute(name)
		}
		// A route that stays but no longer mirrors to an upstream: its
		// series for that upstream stop here (a removed route's went with
		// it above).
		for _, rs := range cfg.Routes {
			was, now := g.mirrorOf[rs.Name], nextMirrors[rs.Name]
			if was != nil && (now == nil || now.Upstream() != was.Upstream()) {
				g.mirrors.ForgetRouteUpstream(rs.Name, was.Upstream())
			}
		}
	}
	for name, old := range g.upstreams {
		if n := next[name]; n == nil || n.up != old.up {
			old.up.Close()
			if g.metrics != nil && next[name] == nil {
				g.metrics.ForgetUpstream(name)
				g.mirrors.ForgetUpstream(name)
			}
		}
	}
	g.upstreams = next
	g.mirrorOf = nextMirrors
	g.live.Store(&next)
	return nil
}

func (g *Gateway) waitReady(ctx context.Context, ups []*liveUpstream) {
	if len(ups) == 0 {
		return
	}
	timer := time.NewTimer(g.readyTimeout)
	defer timer.Stop()
	for _, lu := range ups {
		select {
		case <-lu.up.Ready():
		case <-ctx.Done():
			return
		case <-timer.C:
			g.logger.Warn("upstream not resolved in time; serving 503 for it until it is", "upstream", lu.spec.Name)
			return
		}
	}
}

// globalMiddleware is the chain of every route, and of Proxy's handler.
func (g *Gateway) globalMiddleware() []func(http.Handler) http.Handler {
	var mw []func(http.Handler) http.Handler
	if g.tracer != nil {
		mw = append(mw, g.tracer.Middleware)
	}
	mw = append(mw, requestid.Middleware)
	if g.metrics != nil {
		mw = append(mw, g.metrics.Middleware)
	}
	if g.accessLog {
		mw = append(mw, accesslog.Middleware(g.logger))
	}
	// Inside metrics and the access log, which record what was sent (a
	// gRPC status, not the problem it replaced); outside the route's
	// policies, whose refusals it translates for gRPC callers.
	mw = append(mw, grpcproxy.Middleware)
	return append(mw, g.middleware...)
}

// refusedMiddleware is the chain of requests refused before routing: the
// global chain with the rate-limited refusal log in place of the access log.
// A refused gRPC call gets its gRPC status too (431: RESOURCE_EXHAUSTED),
// where a grpc-go client could only report the problem body as UNKNOWN.
func (g *Gateway) refusedMiddleware() []func(http.Handler) http.Handler {
	mw := []func(http.Handler) http.Handler{requestid.Middleware}
	if g.metrics != nil {
		mw = append(mw, g.metrics.Middleware)
	}
	mw = append(mw, g.refusals.Middleware, grpcproxy.Middleware)
	return append(mw, g.middleware...)
}

// newUpstream builds the upstream of spec; prev, if not nil, is the running
// upstream of that name it replaces, whose instances' health it takes over.
func (g *Gateway) newUpstream(spec UpstreamSpec, prev *upstream.Upstream) *liveUpstream {
	lu := &liveUpstream{spec: spec}
	resolver := spec.Resolver
	service := spec.Service
	if service == "" {
		service = spec.Name
	}
	if resolver == nil {
		lu.static = discovery.NewStatic(map[string][]discovery.Instance{service: spec.Instances})
		resolver = lu.static
	}
	uopts := []upstream.Option{upstream.WithService(service), upstream.WithLogger(g.logger)}
	if spec.Balancer != nil {
		uopts = append(uopts, upstream.WithPolicy(spec.Balancer))
	}
	if spec.PassiveHealth != nil {
		uopts = append(uopts, upstream.WithPassiveHealth(*spec.PassiveHealth))
	}
	if len(spec.Subset) > 0 {
		subset := maps.Clone(spec.Subset)
		uopts = append(uopts, upstream.WithInstanceFilter(func(i discovery.Instance) bool {
			for k, v := range subset {
				if i.Meta[k] != v {
					return false
				}
			}
			return true
		}))
	}
	if spec.ActiveHealth != nil {
		uopts = append(uopts, upstream.WithActiveHealth(*spec.ActiveHealth))
	}
	if spec.PanicThreshold != 0 {
		uopts = append(uopts, upstream.WithPanicThreshold(spec.PanicThreshold))
	}
	if g.metrics != nil {
		uopts = append(uopts, upstream.WithObserver(g.metrics))
	}
	if prev != nil {
		// A rebuild for other settings must not readmit an instance that
		// was ejected or held down: nothing is lost on reload.
		uopts = append(uopts, upstream.WithPredecessor(prev))
	}
	lu.up = upstream.New(spec.Name, resolver, uopts...)

	// No trusted proxies here: the route table decides the client per
	// request, so a reload that keeps this proxy still applies a new list.
	transport := g.transport
	if spec.Transport != nil {
		transport = spec.Transport
	}
	popts := []proxy.Option{
		proxy.WithTransport(transport), proxy.WithLogger(g.logger),
		proxy.WithTryTimeout(spec.TryTimeout), proxy.WithPreserveHost(spec.PreserveHost),
	}
	if g.metrics != nil {
		popts = append(popts, proxy.WithObserver(g.metrics))
	}
	if g.tracer != nil {
		popts = append(popts, proxy.WithTracer(g.tracer))
	}
	if spec.Retry.Attempts > 1 {
		ratio, minPerSec := spec.Retry.BudgetRatio, spec.Retry.BudgetMinPerSecond
		if ratio == 0 {
			ratio = 0.2
		}
		if minPerSec == 0 {
			minPerSec = 10
		}
		popts = append(popts, proxy.WithRetry(proxy.Retry{
			Attempts: spec.Retry.Attempts, Statuses: spec.Retry.Statuses, Budget: proxy.NewBudget(ratio, minPerSec),
		}))
	}
	lu.proxy = proxy.New(lu.up, popts...)
	return lu
}

// sameExceptInstances reports whether two static specs differ only in their
// instance lists, so the running upstream can take the new list in place.
func sameExceptInstances(a, b UpstreamSpec) bool {
	a.Instances, b.Instances = nil, nil
	return sameSpec(a, b)
}

// sameSpec compares specs for reuse across a reload. A hash policy's key
// function is compared by its KeyID, and a resolver with an Equal method by
// that, since functions and clients are never DeepEqual.
func sameSpec(a, b UpstreamSpec) bool {
	if eq, ok := a.Resolver.(interface{ Equal(discovery.Resolver) bool }); ok && b.Resolver != nil && eq.Equal(b.Resolver) {
		a.Resolver, b.Resolver = nil, nil
	}
	ha, aok := a.Balancer.(balance.Hash)
	hb, bok := b.Balancer.(balance.Hash)
	if aok && bok && ha.KeyID != "" && ha.KeyID == hb.KeyID {
		ha.Key, hb.Key = nil, nil
		a.Balancer, b.Balancer = ha, hb
	}
	return reflect.DeepEqual(a, b)
}

func validate(cfg Config) error {
	var errs []error
	names := map[string]bool{}
	for i, u := range cfg.Upstreams {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("upstream %d: name is required", i))
		case names[u.Name]:
			errs = append(errs, fmt.Errorf("upstream %d (%s): name already used", i, u.Name))
		}
		names[u.Name] = true
		if u.Resolver == nil && len(u.Instances) == 0 {
			errs = append(errs, fmt.Errorf("upstream %d (%s): no resolver and no instances", i, u.Name))
		}
		for j, inst := range u.Instances {
			if err := inst.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("upstream %d (%s): instance %d: %w", i, u.Name, j, err))
			}
		}
		if u.Retry.Attempts < 0 || u.Retry.BudgetRatio < 0 || u.Retry.BudgetMinPerSecond < 0 {
			errs = append(errs, fmt.Errorf("upstream %d (%s): retry values must not be negative", i, u.Name))
		}
		if u.TryTimeout < 0 {
			errs = append(errs, fmt.Errorf("upstream %d (%s): try timeout is negative", i, u.Name))
		}
		if err := upstream.CheckPanicThreshold(u.PanicThreshold); err != nil {
			errs = append(errs, fmt.Errorf("upstream %d (%s): panic threshold %w", i, u.Name, err))
		}
	}
	decl := make([]spec.Route, len(cfg.Routes))
	for i, r := range cfg.Routes {
		decl[i] = r.Route
		path := spec.Index("routes", i)
		switch {
		case r.HasSecurity():
			errs = append(errs, &spec.FieldError{Path: path, Message: "has auth, authorize, rate_limit, concurrency or ip_access settings: build them into middleware with package live (Apply does not read them)"})
		case r.Handler == nil && r.Composite != nil:
			for j, c := range r.Composite.Calls {
				if !names[c.Upstream] {
					errs = append(errs, &spec.FieldError{Path: spec.Join(path, "composite") + ".calls[" + fmt.Sprint(j) + "].upstream", Message: fmt.Sprintf("%q is not defined", c.Upstream)})
				}
			}
		case r.Handler == nil && r.Upstream == "":
			errs = append(errs, &spec.FieldError{Path: spec.Join(path, "upstream"), Message: "is required without a handler"})
		case r.Handler == nil && !names[r.Upstream]:
			errs = append(errs, &spec.FieldError{Path: spec.Join(path, "upstream"), Message: fmt.Sprintf("%q is not defined", r.Upstream)})
		}
		for j, v := range r.Variants {
			if v.Upstream != "" && !names[v.Upstream] {
				errs = append(errs, &spec.FieldError{Path: spec.Join(spec.Index(spec.Join(path, "variants"), j), "upstream"), Message: fmt.Sprintf("%q is not defined", v.Upstream)})
			}
		}
		if m := r.Mirror; m != nil && m.Upstream != "" && !names[m.Upstream] {
			errs = append(errs, &spec.FieldError{Path: spec.Join(spec.Join(path, "mirror"), "upstream"), Message: fmt.Sprintf("%q is not defined", m.Upstream)})
		}
		if r.Handler != nil {
			decl[i].Upstream = "" // served by the handler; not checked as a reference
		}
	}
	if err := spec.CheckRoutes(decl); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Routes returns the routes of the current table.
func (g *Gateway) Routes() []route.Route { return g.table.Load().Routes() }

// Upstream returns the running upstream of that name, or nil.
func (g *Gateway) Upstream(name string) *upstream.Upstream {
	if lu := (*g.live.Load())[name]; lu != nil {
		return lu.up
	}
	return nil
}

// Proxy returns a handler that proxies to the named upstream of the current
// configuration, for mounting on a router of the user's own. It runs the
// gateway-wide chain of a route — request id, metrics, access log, then
// WithMiddleware — with the upstream's name as the route label, and decides
// the client with the current configuration's TrustedProxies. It has none
// of a route's own settings: no path normalisation, strip prefix or
// rewrite, timeout, body limit, route middleware or variants — use a route
// for those. It answers 503 while no such upstream is configured.
//
// Its requests are marked as outliving route tables
// (request.Info.SetOutlivesTables): a reload that removes a route of the
// upstream's name does not stop their counting in the metrics, nor in the
// authentication, authorization and rate-limit series of WithMiddleware's
// policies.
func (g *Gateway) Proxy(name string) http.Handler {
	serve := chain(g.globalMiddleware(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lu := (*g.live.Load())[name]
		if lu == nil {
			request.InfoFrom(r.Context()).SetError("upstream not configured")
			problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Route: name, Upstream: name, Detail: "upstream " + name + " is not configured"})
			return
		}
		lu.proxy.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := request.ClientOf(r, g.table.Load().TrustedProxies())
		info := request.NewInfo(name, name, client)
		// Not a route table's request: counted under its name whatever
		// routes a reload removed, also by the WithMiddleware policies,
		// wrapped here once.
		info.SetOutlivesTables()
		serve.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), info)))
	})
}

// Drain marks the gateway not ready, so a load balancer or Kubernetes stops
// sending new connections while in-flight and arriving requests are still
// served. Server.Run calls it on shutdown.
func (g *Gateway) Drain() { g.draining.Store(true) }

// Ready reports why the gateway is not ready, or nil when it is: it is not
// draining, and it has been ready once — a configuration was applied and
// every upstream's discovery answered (a resolver that only failed does
// not count: a replica that knows no instance would answer 503 to the
// traffic readiness brings it). Once ready it stays so until it drains:
// an upstream a reload adds, resolving or failing, does not take every
// replica that applied the reload out of its Service at once.
func (g *Gateway) Ready() error {
	if g.draining.Load() {
		return errors.New("draining")
	}
	if g.wasReady.Load() {
		return nil
	}
	if !g.applied.Load() {
		return errors.New("no configuration applied")
	}
	for name, lu := range *g.live.Load() {
		select {
		case <-lu.up.Ready():
		default:
			return fmt.Errorf("upstream %s not resolved yet", name)
		}
		if !lu.up.Resolved() {
			return fmt.Errorf("upstream %s not resolved yet: %v", name, lu.up.Stale())
		}
	}
	g.wasReady.Store(true)
	return nil
}

// HealthHandler serves /livez (the process is serving) and /readyz (see
// Ready) for Kubernetes probes.
func (g *Gateway) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := g.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Close stops all upstream watches and health checks.
func (g *Gateway) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cancel()
	for _, lu := range g.upstreams {
		lu.up.Close()
	}
	g.refusals.Close() // the counts of lines a flood suppressed
}

// variants sends requests to the first variant whose header matches,
// else to a weighted variant by a uniform draw, else to def. The proxies are
// resolved once, when the table is built.
//
// The draw is made by draw, which runs before the route's middleware: a
// response cache there keys its answers on the variant drawn (see
// cache.WithVariant), or the first variant's answer stored would be served
// to every client for its lifetime.
type variants struct {
	byHeader, byWeight []variantTarget
	vary               []string // the headers the choice reads, each once
	def                variantTarget
}

type variantTarget struct {
	header, value, upstream string
	upTo                    int // weighted: the draw (0-99) goes here when below upTo
	to                      http.Handler
}

// drawnKey is the context key of the weighted variant drawn for a request.
type drawnKey struct{}

func newVariants(vs []spec.Variant, ups map[string]*liveUpstream, defUpstream string, def http.Handler) *variants {
	out := &variants{def: variantTarget{upstream: defUpstream, to: def}}
	total := 0
	for _, v := range vs {
		c := variantTarget{header: http.CanonicalHeaderKey(v.Header), value: v.Value, upstream: v.Upstream, to: ups[v.Upstream].proxy}
		if v.Weight > 0 {
			total += v.Weight
			c.upTo = total
			out.byWeight = append(out.byWeight, c)
		} else {
			out.byHeader = append(out.byHeader, c)
			if !slices.Contains(out.vary, c.header) {
				out.vary = append(out.vary, c.header)
			}
		}
	}
	return out
}

// byHeaderMatch returns the header variant r selects.
func (vs *variants) byHeaderMatch(r *http.Request) (variantTarget, bool) {
	for _, v := range vs.byHeader {
		if r.Header.Get(v.header) == v.value {
			return v, true
		}
	}
	return variantTarget{}, false
}

// pick is the weighted choice: a variant, or the route's own upstream.
func (vs *variants) pick() variantTarget {
	// math/rand/v2's top-level source is per-thread: no lock on the hot
	// path.
	n := rand.IntN(100)
	for _, v := range vs.byWeight {
		if n < v.upTo {
			return v
		}
	}
	return vs.def
}

// draw is the route's outermost middleware when it has weighted variants:
// it makes the draw for requests no header variant takes, and tells a
// response cache which variant answers.
func (vs *variants) draw(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := vs.byHeaderMatch(r); ok {
			next.ServeHTTP(w, r)
			return
		}
		v := vs.pick()
		ctx := context.WithValue(r.Context(), drawnKey{}, v)
		next.ServeHTTP(w, r.WithContext(cache.WithVariant(ctx, v.upstream)))
	})
}

func (vs *variants) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The answer depends on these headers: a response cache (the route's
	// own, or one downstream) must keep one copy per value, or the
	// canary's answer would reach everyone.
	for _, name := range vs.vary {
		vary.Add(w.Header(), name)
	}
	v, ok := vs.byHeaderMatch(r)
	if !ok && len(vs.byWeight) > 0 {
		if v, ok = r.Context().Value(drawnKey{}).(variantTarget); !ok {
			v, ok = vs.pick(), true
		}
	}
	if !ok {
		vs.def.to.ServeHTTP(w, r)
		return
	}
	if info := request.InfoFrom(r.Context()); info != nil {
		info.SetUpstream(v.upstream)
	}
	v.to.ServeHTTP(w, r)
}

// removedRoutes returns the names of old's routes that next does not have.
func removedRoutes(old *route.Table, next []route.Route) []string {
	keep := map[string]bool{}
	for _, r := range next {
		keep[r.Name] = true
	}
	var out []string
	for _, r := range old.Routes() {
		if !keep[r.Name] {
			out = append(out, r.Name)
		}
	}
	return out
}

// Upstreams returns the running upstreams, sorted by name.
func (g *Gateway) Upstreams() []*upstream.Upstream {
	live := *g.live.Load()
	out := make([]*upstream.Upstream, 0, len(live))
	for _, lu := range live {
		out = append(out, lu.up)
	}
	slices.SortFunc(out, func(a, b *upstream.Upstream) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// chain wraps h in mw, the first element outermost.
func chain(mw []func(http.Handler) http.Handler, h http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
