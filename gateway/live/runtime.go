package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/transform"
)

// CloseGrace is how long a resource that a committed build no longer uses
// stays open: requests that matched the previous table may still be
// checking a token or a rate limit with it.
var CloseGrace = 5 * time.Second

// Runtime builds spec.Configs and owns what they need across builds.
// Create one per process with NewRuntime; Close stops everything.
type Runtime struct {
	logger  *slog.Logger
	authnM  *authn.Metrics
	authzM  *authz.Metrics
	limitsM *ratelimit.Metrics
	cacheM  *cache.Metrics
	lifeM   *lifecycle.Metrics

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex // one Build, Commit or Discard at a time
	res       map[string]*resource
	committed map[string]bool // resource keys of the last committed build
	routes    map[string]bool // route names of the last committed build
	// deprecatedAt is when each route of the last committed build that is
	// deprecated without a since date became deprecated: its Deprecation
	// date, kept across builds.
	deprecatedAt map[string]time.Time
	kube         kubernetes.Interface
}

// resource is one thing a build uses, by kind and settings.
type resource struct {
	value any
	stop  func()
}

// Option configures NewRuntime.
type Option func(*Runtime)

// WithRegistry registers the security metrics (authentication failures,
// authorization denials, rate-limit rejections and store errors) on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(rt *Runtime) {
		var err error
		if rt.authnM, err = authn.NewMetrics(reg); err != nil {
			panic(err)
		}
		if rt.authzM, err = authz.NewMetrics(reg); err != nil {
			panic(err)
		}
		if rt.limitsM, err = ratelimit.NewMetrics(reg); err != nil {
			panic(err)
		}
		if rt.cacheM, err = cache.NewMetrics(reg); err != nil {
			panic(err)
		}
		if rt.lifeM, err = lifecycle.NewMetrics(reg); err != nil {
			panic(err)
		}
	}
}

// WithLogger sets the logger for JWKS and Redis failures, discovery's
// warnings (Kubernetes and Consul), consumers reloads and authentication
// failures (at debug level).
func WithLogger(l *slog.Logger) Option { return func(rt *Runtime) { rt.logger = l } }

// WithKubernetes sets the client of discovery: kubernetes upstreams
// (default: in-cluster, else KUBECONFIG or ~/.kube/config).
func WithKubernetes(c kubernetes.Interface) Option { return func(rt *Runtime) { rt.kube = c } }

// NewRuntime returns a Runtime. WithRegistry panics if the metrics are
// already registered on that registry (one Runtime per registry).
func NewRuntime(opts ...Option) *Runtime {
	rt := &Runtime{logger: slog.Default(), res: map[string]*resource{}, committed: map[string]bool{}, routes: map[string]bool{}}
	for _, opt := range opts {
		opt(rt)
	}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	return rt
}

// Close stops JWKS refreshes and consumers file watches and closes the
// Redis clients.
func (rt *Runtime) Close() {
	rt.cancel()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for k, r := range rt.res {
		if r.stop != nil {
			r.stop()
		}
		delete(rt.res, k)
	}
}

// Resources returns the keys of what the runtime holds open now, sorted,
// e.g. "redis|127.0.0.1:6379|...": for tests and the admin API.
func (rt *Runtime) Resources() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Sorted(maps.Keys(rt.res))
}

// Built is a spec.Config made live.
type Built struct {
	// Gateway is for (*gateway.Gateway).Apply.
	Gateway gateway.Config

	rt      *Runtime
	used    map[string]bool
	created []string
	routes  map[string]bool
	// deprecatedAt is Runtime.deprecatedAt once this build is committed.
	deprecatedAt map[string]time.Time
	done         bool
}

// Commit records that Gateway was applied: what the previously committed
// build used and this one does not is closed after CloseGrace, and the
// security metrics of removed routes are deleted.
func (b *Built) Commit() {
	rt := b.rt
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	var stale []*resource
	for k := range rt.committed {
		if !b.used[k] {
			if r := rt.res[k]; r != nil {
				stale = append(stale, r)
				delete(rt.res, k)
			}
		}
	}
	for name := range rt.routes {
		if !b.routes[name] {
			rt.forgetRoute(name)
		}
	}
	rt.committed, rt.routes, rt.deprecatedAt = b.used, b.routes, b.deprecatedAt
	if len(stale) > 0 {
		time.AfterFunc(CloseGrace, func() {
			for _, r := range stale {
				if r.stop != nil {
					r.stop()
				}
			}
		})
	}
}

// Discard records that Gateway was not applied: what only this build
// started is closed now.
func (b *Built) Discard() {
	b.rt.mu.Lock()
	defer b.rt.mu.Unlock()
	b.discard()
}

func (b *Built) discard() {
	rt := b.rt
	if b.done {
		return
	}
	b.done = true
	for _, k := range b.created {
		if rt.committed[k] {
			continue
		}
		if r := rt.res[k]; r != nil {
			if r.stop != nil {
				r.stop()
			}
			delete(rt.res, k)
		}
	}
}

func (rt *Runtime) forgetRoute(name string) {
	if rt.authnM != nil {
		rt.authnM.ForgetRoute(name)
		rt.authzM.ForgetRoute(name)
		rt.limitsM.ForgetRoute(name)
		rt.lifeM.ForgetRoute(name)
	}
}

// Build makes c live. c must be valid (Validate); problems found only now
// (an unreadable key file, an empty secret variable, no Kubernetes
// configuration) are *spec.FieldError at the field that names them, all at
// once: they lie outside c, so the same c may build later (the reload loops
// retry it, see reload.Retryable). On error nothing new stays open.
func (rt *Runtime) Build(c *spec.Config) (*Built, error) { return rt.build(c, true) }

// Check does what Build does without starting anything (no JWKS fetch, no
// file watch, no connection): for `gatescale validate`.
func (rt *Runtime) Check(c *spec.Config) error {
	_, err := rt.build(c, false)
	return err
}

type buildState struct {
	rt    *Runtime
	c     *spec.Config
	start bool
	b     *Built
	errs  []error
}

func (s *buildState) errf(path, format string, args ...any) {
	s.errs = append(s.errs, &spec.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// get returns the resource of key, creating it with create when this
// runtime has none. In Check mode nothing is kept or started.
func (s *buildState) get(key string, create func() (any, func(), error)) (any, error) {
	rt := s.rt
	if r, ok := rt.res[key]; ok {
		s.b.used[key] = true
		return r.value, nil
	}
	v, stop, err := create()
	if err != nil {
		return nil, err
	}
	if !s.start {
		if stop != nil {
			stop()
		}
		return v, nil
	}
	rt.res[key] = &resource{value: v, stop: stop}
	s.b.used[key] = true
	s.b.created = append(s.b.created, key)
	return v, nil
}

func (rt *Runtime) build(c *spec.Config, start bool) (*Built, error) {
	if c == nil {
		return nil, errors.New("live: Build needs a configuration")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s := &buildState{rt: rt, c: c, start: start, b: &Built{rt: rt, used: map[string]bool{}, routes: map[string]bool{}, deprecatedAt: map[string]time.Time{}}}
	out := &s.b.Gateway
	for _, p := range c.TrustedProxies {
		if pfx, ok := spec.ParsePrefix(p); ok {
			out.TrustedProxies = append(out.TrustedProxies, pfx)
		}
	}
	for _, name := range spec.UpstreamNames(c) {
		if u, ok := s.upstream(name, c.Upstreams[name]); ok {
			out.Upstreams = append(out.Upstreams, u)
		}
	}
	s.security()
	if len(s.errs) > 0 {
		s.b.discard()
		return nil, errors.Join(s.errs...)
	}
	return s.b, nil
}

func (s *buildState) upstream(name string, u spec.Upstream) (gateway.UpstreamSpec, bool) {
	path := spec.Join("upstreams", name)
	out := gateway.UpstreamSpec{
		Name: name, Service: u.Service, TryTimeout: u.TryTimeout.Std(), PreserveHost: u.PreserveHost,
		PanicThreshold: u.PanicThreshold,
		Balancer:       Policy(u),
		Retry: gateway.RetrySpec{Attempts: u.Retry.Attempts, Statuses: slices.Clone(u.Retry.Statuses),
			BudgetRatio: u.Retry.BudgetRatio, BudgetMinPerSecond: u.Retry.BudgetMinPerSecond},
	}
	if len(u.Subset) > 0 {
		out.Subset = maps.Clone(u.Subset)
	}
	for _, in := range u.Instances {
		out.Instances = append(out.Instances, in.Discovery())
	}
	if ph := u.PassiveHealth; ph != nil {
		out.PassiveHealth = &health.Passive{ConsecutiveFailures: ph.ConsecutiveFailures,
			BaseEjection: ph.BaseEjection.Std(), MaxEjection: ph.MaxEjection.Std(), MaxEjectionPercent: ph.MaxEjectionPercent}
	}
	ut, ok := s.transport(path, u)
	if !ok {
		return out, false
	}
	if ut != nil {
		out.Transport = ut.transport
	}
	if ah := u.ActiveHealth; ah != nil {
		out.ActiveHealth = &health.Active{Path: ah.Path, Interval: ah.Interval.Std(), Timeout: ah.Timeout.Std(),
			HealthyThreshold: ah.HealthyThreshold, UnhealthyThreshold: ah.UnhealthyThreshold}
		if ut != nil {
			out.ActiveHealth.Client = ut.probes // the same protocol and TLS as requests
		}
		if ah.GRPC != nil {
			out.ActiveHealth.GRPC = &health.GRPC{Service: ah.GRPC.Service}
		}
	}
	switch u.Discovery {
	case "consul":
		client, dc, ok := s.consulClient()
		if !ok {
			return out, false
		}
		opts := []consul.Option{consul.WithLogger(s.rt.logger)}
		if q := u.Consul; q != nil {
			if q.Datacenter != "" {
				dc = q.Datacenter
			}
			opts = append(opts, consul.WithTags(q.Tags...), consul.WithNamespace(q.Namespace),
				consul.WithPartition(q.Partition), consul.WithFilter(q.Filter), consul.WithStale(q.Stale))
			if q.PassingOnly != nil {
				opts = append(opts, consul.WithPassingOnly(*q.PassingOnly))
			}
		}
		opts = append(opts, consul.WithDatacenter(dc))
		out.Resolver = consul.NewResolver(client, opts...)
	case "kubernetes":
		client, err := s.rt.kubeClient()
		if err != nil {
			s.errf(spec.Join(path, "discovery"), "kubernetes: %v", err)
			return out, false
		}
		opts := []kube.Option{kube.WithLogger(s.rt.logger)}
		if k := u.Kubernetes; k != nil {
			if k.Namespace != "" {
				opts = append(opts, kube.WithNamespace(k.Namespace))
			}
			if k.Port != "" {
				opts = append(opts, kube.WithPort(k.Port))
			}
		}
		out.Resolver = kube.NewResolver(client, opts...)
	}
	return out, true
}

// Policy returns the balancer of an upstream's declaration.
func Policy(u spec.Upstream) balance.Policy {
	if u.Balancer == "hash" && u.Hash != nil {
		h := balance.Hash{LoadFactor: u.Hash.LoadFactor, Replicas: u.Hash.Replicas}
		switch {
		case u.Hash.Header != "":
			h.Key, h.KeyID = balance.HeaderKey(u.Hash.Header), "header:"+u.Hash.Header
		case u.Hash.Cookie != "":
			h.Key, h.KeyID = balance.CookieKey(u.Hash.Cookie), "cookie:"+u.Hash.Cookie
		default:
			h.Key, h.KeyID = balance.ClientIPKey(), "client_ip"
		}
		return h
	}
	if p, err := balance.ByName(u.Balancer); err == nil && u.Balancer != "" {
		return p
	}
	return balance.P2C{}
}

// consulClient returns the client every discovery: consul upstream shares,
// one per address and token across builds, so that an unchanged upstream
// yields an Equal resolver and the gateway keeps its running watch.
func (s *buildState) consulClient() (*api.Client, string, bool) {
	var addr, token, dc string
	if a := s.c.Consul; a != nil {
		addr, dc = a.Address, a.Datacenter
		if a.TokenFile != "" {
			b, err := os.ReadFile(a.TokenFile)
			if err != nil {
				s.errf("consul.token_file", "cannot be read: %v", err)
				return nil, "", false
			}
			token = strings.TrimSpace(string(b))
		}
	}
	v, err := s.get("consul|"+addr+"|"+token, func() (any, func(), error) {
		c, err := consul.NewClient(addr, token)
		return c, nil, err
	})
	if err != nil {
		s.errf("consul", "%v", err)
		return nil, "", false
	}
	return v.(*api.Client), dc, true
}

// kubeClient builds the Kubernetes client once it can: a failure is not
// kept, so a later build (a mounted service account arriving) retries.
// Kubernetes returns the runtime's Kubernetes client (WithKubernetes, else
// in-cluster, else KUBECONFIG or ~/.kube/config), made once: discovery and
// the console's autoscaling view share it.
func (rt *Runtime) Kubernetes() (kubernetes.Interface, error) { return rt.kubeClient() }

func (rt *Runtime) kubeClient() (kubernetes.Interface, error) {
	if rt.kube != nil {
		return rt.kube, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil { // outside a cluster: KUBECONFIG or ~/.kube/config
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("no in-cluster configuration and no usable kubeconfig: %v", err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	rt.kube = c
	return c, nil
}

// redisStore returns the Redis store of rate_limit.redis, one client per
// settings across builds.
func (s *buildState) redisStore(r *spec.RedisSettings) ratelimit.Store {
	if r.PasswordEnv != "" && os.Getenv(r.PasswordEnv) == "" {
		s.errf("rate_limit.redis.password_env", "the environment variable %s is empty or unset", r.PasswordEnv)
		return nil
	}
	timeout := r.Timeout.Std()
	if timeout == 0 {
		timeout = spec.DefaultRedisTimeout
	}
	backoff := r.Backoff.Std()
	if backoff == 0 {
		backoff = spec.DefaultRedisBackoff
	}
	key := fmt.Sprintf("redis|%s|%s|%s|%d|%s|%v|%v", r.Addr, r.Username, r.PasswordEnv, r.DB, r.Prefix, timeout, backoff)
	v, _ := s.get(key, func() (any, func(), error) {
		client := redis.NewClient(&redis.Options{
			Addr: r.Addr, Username: r.Username, Password: os.Getenv(r.PasswordEnv), DB: r.DB,
			// The store's own timeout and backoff handle failures: no retries
			// that would hold a request longer than the timeout.
			MaxRetries: -1, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
			ContextTimeoutEnabled: true,
		})
		return &ratelimit.Redis{Client: client, Prefix: r.Prefix, Timeout: timeout, Backoff: backoff},
			func() { _ = client.Close() }, nil
	})
	return v.(*ratelimit.Redis)
}

// handler-free route copy: policies are turned into middleware, the
// top-level defaults fill what the route leaves out. CORS stays in the
// declaration: the route table builds it (package route).
func builtRoute(r spec.Route, c *spec.Config) route.Route {
	r.Auth, r.Authorize, r.RateLimit, r.Concurrency, r.IPAccess = nil, nil, nil, nil, nil
	if r.MaxBodyBytes == 0 {
		r.MaxBodyBytes = c.DefaultMaxBodyBytes
	}
	if r.CORS == nil {
		r.CORS = c.CORS
	}
	if len(r.Methods) > 0 {
		ms := make([]string, len(r.Methods))
		for i, m := range r.Methods {
			ms[i] = strings.ToUpper(strings.TrimSpace(m))
		}
		r.Methods = ms
	}
	return route.Route{Route: r}
}

// contextFrom returns a context that ends with the runtime or when the
// resource is closed.
func contextFrom(rt *Runtime) (context.Context, func()) {
	return context.WithCancel(rt.ctx)
}

// processing builds a route's response handling, outermost first:
// compression (it must see the final bytes), result processing per client
// type, then the cache — inside the transform, so one stored copy of the
// answer serves every client type (see docs/orchestration.md).
func (s *buildState) processing(path string, r *spec.Route) []func(http.Handler) http.Handler {
	var mw []func(http.Handler) http.Handler
	if r.Compress != nil {
		c, err := transform.NewCompressor(*r.Compress)
		if err != nil {
			s.errf(spec.Join(path, "compress"), "%v", err)
		} else {
			mw = append(mw, c.Middleware)
		}
	}
	if r.Transform != nil {
		t, err := transform.New(*r.Transform)
		if err != nil {
			s.errf(spec.Join(path, "transform"), "%v", err)
		} else {
			mw = append(mw, t.Middleware)
		}
	}
	if r.Cache != nil {
		if store := s.cacheStore(); store != nil {
			c, err := cache.New(store, *r.Cache)
			if err != nil {
				s.errf(spec.Join(path, "cache"), "%v", err)
			} else {
				mw = append(mw, c.Middleware)
			}
		}
	}
	return mw
}

// PurgeCache removes the stored answers whose host and path begin with
// prefix from this process's response cache (cache.Store.PurgePrefix on
// every store the runtime holds: the one in force, and one a build not
// yet committed made), and returns how many keys it removed. It reaches
// this process only: other replicas keep their copies.
func (rt *Runtime) PurgeCache(prefix string) int {
	rt.mu.Lock()
	var stores []*cache.Store
	for _, r := range rt.res {
		if st, ok := r.value.(*cache.Store); ok {
			stores = append(stores, st)
		}
	}
	rt.mu.Unlock()
	// Outside the lock: a purge walks the whole store, and a Build must
	// not wait for it.
	n := 0
	for _, st := range stores {
		n += st.PurgePrefix(prefix)
	}
	return n
}

// cacheStore returns the store every cached route shares, one per byte
// budget across builds, so a reload keeps what is cached.
func (s *buildState) cacheStore() *cache.Store {
	var o cache.StoreOptions
	if s.c.Cache != nil {
		o = *s.c.Cache
	}
	v, err := s.get(fmt.Sprintf("cache|%d", o.MaxBytes), func() (any, func(), error) {
		var opts []cache.StoreOption
		if s.rt.cacheM != nil {
			opts = append(opts, cache.WithMetrics(s.rt.cacheM))
		}
		st, err := cache.NewStore(o, opts...)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	})
	if err != nil {
		s.errf("cache", "%v", err)
		return nil
	}
	return v.(*cache.Store)
}
