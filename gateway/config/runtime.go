package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/harden"
	"github.com/gatescale/gatescale/gateway/ratelimit"
)

// Runtime makes the security settings of a Loaded file live: it reads key,
// secret, certificate and consumers files, fetches JWKS, connects to Redis,
// and builds each route's authentication, authorization and flow-limit
// middleware. Parse does none of that, so that checking a file has no
// effects.
//
// Create one Runtime per process and Build every Loaded with it: what can
// be kept across reloads is kept — JWKS caches (by URL), Redis clients (by
// settings), local rate-limit buckets (by policy name, so a reload does not
// hand everyone a fresh budget), consumers files (reloaded, and watched
// for changes).
type Runtime struct {
	logger  *slog.Logger
	reg     prometheus.Registerer
	authnM  *authn.Metrics
	authzM  *authz.Metrics
	limitsM *ratelimit.Metrics

	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	jwks  map[string]*authn.JWKS
	redis map[string]*ratelimit.Redis
	rdbs  []*redis.Client
	local map[string]*ratelimit.Local
	files map[string]*consumer.File
}

// RuntimeOption configures NewRuntime.
type RuntimeOption func(*Runtime)

// WithRegistry registers the security metrics (authentication failures,
// authorization denials, rate-limit rejections and store errors) on reg.
func WithRegistry(reg prometheus.Registerer) RuntimeOption {
	return func(rt *Runtime) { rt.reg = reg }
}

// WithLogger sets the logger for JWKS and Redis failures, consumers
// reloads and authentication failures (at debug level).
func WithLogger(l *slog.Logger) RuntimeOption {
	return func(rt *Runtime) { rt.logger = l }
}

// NewRuntime returns a Runtime; Close stops what it started.
func NewRuntime(opts ...RuntimeOption) (*Runtime, error) {
	rt := &Runtime{
		logger: slog.Default(),
		jwks:   map[string]*authn.JWKS{}, redis: map[string]*ratelimit.Redis{},
		local: map[string]*ratelimit.Local{}, files: map[string]*consumer.File{},
	}
	for _, opt := range opts {
		opt(rt)
	}
	if rt.reg != nil {
		var err error
		if rt.authnM, err = authn.NewMetrics(rt.reg); err != nil {
			return nil, err
		}
		if rt.authzM, err = authz.NewMetrics(rt.reg); err != nil {
			return nil, err
		}
		if rt.limitsM, err = ratelimit.NewMetrics(rt.reg); err != nil {
			return nil, err
		}
	}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	return rt, nil
}

// Close stops JWKS refreshes and consumers file watches and closes the
// Redis clients.
func (rt *Runtime) Close() {
	rt.cancel()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, c := range rt.rdbs {
		_ = c.Close()
	}
	rt.rdbs = nil
}

// Built is a Loaded made live.
type Built struct {
	// Gateway is for (*gateway.Gateway).Apply: Loaded.Gateway with every
	// route's security middleware in place.
	Gateway gateway.Config
	// TLS is the proxy listener's TLS configuration (client certificate
	// verification included), or nil without a tls section.
	TLS *tls.Config
	// Server holds the listener limits.
	Server ServerSettings
	// Middleware goes around the whole gateway (the header count limit).
	Middleware func(http.Handler) http.Handler
}

// Build makes l live. Problems found only now (an unreadable key file, an
// empty secret variable, a bad certificate) are reported like Parse's, as
// *Error at the key that names the file, all at once.
func (rt *Runtime) Build(l *Loaded) (*Built, error) { return rt.build(l, true) }

// Check does what Build does without starting anything (no JWKS fetch, no
// file watch, no Redis connection): for `gatescale validate`.
func (rt *Runtime) Check(l *Loaded) error {
	_, err := rt.build(l, false)
	return err
}

type buildState struct {
	rt    *Runtime
	l     *Loaded
	start bool
	errs  []error
}

func (b *buildState) errf(path, format string, args ...any) {
	at, _ := b.l.doc.ValuePos(path)
	b.errs = append(b.errs, &Error{File: b.l.doc.Name(), Line: at.Line, Column: at.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (rt *Runtime) build(l *Loaded, start bool) (*Built, error) {
	if l == nil || l.security == nil {
		return nil, errors.New("config: Build needs a Loaded from Parse or Load")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := &buildState{rt: rt, l: l, start: start}
	s := l.security
	out := &Built{Gateway: l.Gateway, Server: l.Server}
	out.Gateway.Routes = slices.Clone(l.Gateway.Routes)
	out.Middleware = harden.MaxHeaderCount(l.Server.MaxHeaderCount)

	store := b.consumers()
	out.TLS = b.tlsConfig()
	issuers := b.issuers(store)
	var redisStore ratelimit.Store
	if s.redis != nil {
		redisStore = b.redisStore(s.redis)
	}

	authnOpts := []authn.Option{authn.WithRealm(s.realm), authn.WithLogger(rt.logger)}
	authzOpts := []authz.Option{authz.WithLogger(rt.logger)}
	limitOpts := []ratelimit.Option{ratelimit.WithLogger(rt.logger)}
	if rt.authnM != nil {
		authnOpts = append(authnOpts, authn.WithMetrics(rt.authnM))
		authzOpts = append(authzOpts, authz.WithMetrics(rt.authzM))
		limitOpts = append(limitOpts, ratelimit.WithMetrics(rt.limitsM))
	}
	ip := ratelimit.ClientIP(l.Gateway.TrustedProxies...)
	keyFunc := func(key string) ratelimit.KeyFunc {
		switch {
		case key == "ip":
			return ip
		case key == "consumer":
			return ratelimit.Consumer(ip)
		case key == "api_key":
			return ratelimit.APIKey(ratelimit.Consumer(ip))
		case strings.HasPrefix(key, "header:"):
			return ratelimit.Header(strings.TrimPrefix(key, "header:"), ip)
		}
		return nil // route: one bucket
	}
	policies := func(plans []policyPlan) []ratelimit.Policy {
		var out []ratelimit.Policy
		for _, pp := range plans {
			p := ratelimit.Policy{Name: pp.name, Limit: pp.limit, Key: keyFunc(pp.key), FailClosed: pp.failClosed}
			if pp.redis {
				p.Store = redisStore
			} else {
				if rt.local[pp.name] == nil {
					rt.local[pp.name] = &ratelimit.Local{}
				}
				p.Store = rt.local[pp.name]
			}
			out = append(out, p)
		}
		return out
	}
	forward := s.forward != (authn.ForwardHeaders{})

	for i := range out.Gateway.Routes {
		spec := &out.Gateway.Routes[i]
		plan := s.routes[i]
		if plan == nil && !forward {
			continue
		}
		var mw []func(http.Handler) http.Handler
		if plan != nil {
			// Limits keyed by IP, header or route come first: they protect
			// the authentication itself (signature checks cost CPU) from
			// floods. Limits keyed by consumer need the identity.
			if len(plan.pre) > 0 {
				mw = append(mw, ratelimit.Middleware(policies(plan.pre), limitOpts...))
			}
			if a := plan.auth; a != nil {
				methods := b.methods(plan.path, a, issuers, store)
				mw = append(mw, authn.Middleware(methods, append(slices.Clone(authnOpts), authn.WithAnonymous(a.Anonymous))...))
			}
			if plan.authorize != nil {
				mw = append(mw, authz.Middleware(*plan.authorize, authzOpts...))
			}
			if len(plan.post) > 0 {
				mw = append(mw, ratelimit.Middleware(policies(plan.post), limitOpts...))
			}
			if c := plan.concurrency; c != nil && c.max > 0 {
				mw = append(mw, ratelimit.Concurrency(ratelimit.ConcurrencyPolicy{Name: plan.name + ":concurrency", Max: c.max, Key: keyFunc(c.key)}, limitOpts...))
			}
		}
		if forward {
			mw = append(mw, authn.Forward(s.forward))
		}
		spec.Middleware = mw
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return out, nil
}

// consumers returns the consumer store, or nil when none is configured.
func (b *buildState) consumers() consumer.Store {
	s := b.l.security
	if s.consumersFile != "" {
		f := b.rt.files[s.consumersFile]
		if f == nil {
			var err error
			f, err = consumer.LoadFile(s.consumersFile)
			if err != nil {
				b.errf("auth.consumers_file", "%v", err)
				return nil
			}
			if !b.start {
				return f
			}
			b.rt.files[s.consumersFile] = f
			go f.Watch(b.rt.ctx, 2*time.Second, b.rt.logger)
		} else if _, err := f.Reload(); err != nil {
			b.errf("auth.consumers_file", "%v", err)
		}
		return f
	}
	if len(s.consumers) > 0 {
		m, err := consumer.NewMemory(s.consumers)
		if err != nil { // Parse validated them
			b.errf("consumers", "%v", err)
			return nil
		}
		return m
	}
	return nil
}

func (b *buildState) tlsConfig() *tls.Config {
	t := b.l.security.tls
	if t == nil {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.MinVersion == "1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		b.errf("tls.cert_file", "%v", err)
	} else {
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			b.errf("tls.client_ca_file", "%v", err)
		case !pool.AppendCertsFromPEM(pem):
			b.errf("tls.client_ca_file", "no PEM certificates in %s", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if t.ClientAuth == "require" {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg
}

// issuers builds every auth.jwt issuer, by name.
func (b *buildState) issuers(store consumer.Store) map[string]authn.Issuer {
	out := map[string]authn.Issuer{}
	for _, name := range b.l.security.issuerOrder {
		ip := b.l.security.issuers[name]
		is := authn.Issuer{
			Name: name, Issuer: ip.Issuer, Audiences: ip.Audiences, Algorithms: ip.Algorithms,
			Leeway: time.Duration(ip.Leeway), SubjectClaim: ip.SubjectClaim, ConsumerPrefix: ip.ConsumerPrefix,
			ScopesClaim: ip.ScopesClaim, RolesClaim: ip.RolesClaim, GroupsClaim: ip.GroupsClaim,
			Store: store, RequireConsumer: ip.RequireConsumer,
		}
		if is.Leeway == 0 && !b.present(ip.path, "leeway") {
			is.Leeway = authn.DefaultLeeway
		}
		switch {
		case ip.JWKSURL != "":
			is.Keys = b.jwksFor(ip)
		case ip.KeysFile != "":
			data, err := os.ReadFile(ip.KeysFile)
			if err == nil {
				var keys []authn.Key
				if keys, err = authn.ParseKeys(data); err == nil {
					is.Keys = authn.StaticKeys(keys)
				}
			}
			if err != nil {
				b.errf(join(ip.path, "keys_file"), "%v", err)
				continue
			}
		case ip.SecretFile != "":
			data, err := os.ReadFile(ip.SecretFile)
			if err != nil {
				b.errf(join(ip.path, "secret_file"), "%v", err)
				continue
			}
			is.Keys = authn.StaticKeys{{Public: []byte(strings.TrimRight(string(data), "\r\n"))}}
		case ip.SecretEnv != "":
			v := os.Getenv(ip.SecretEnv)
			if v == "" {
				b.errf(join(ip.path, "secret_env"), "the environment variable %s is empty or unset", ip.SecretEnv)
				continue
			}
			is.Keys = authn.StaticKeys{{Public: []byte(v)}}
		}
		if is.RequireConsumer && store == nil {
			continue // reported with the consumers
		}
		if _, err := authn.NewJWT(is); err != nil {
			b.errf(ip.path, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("jwt issuer 0 (%s): ", name)))
			continue
		}
		out[name] = is
	}
	return out
}

// present reports whether path.key was written in the file.
func (b *buildState) present(path, key string) bool {
	_, ok := b.l.doc.ValuePos(join(path, key))
	return ok
}

func (b *buildState) jwksFor(ip issuerPlan) *authn.JWKS {
	key := fmt.Sprintf("%s|%v|%v", ip.JWKSURL, ip.JWKSRefresh, ip.JWKSMinRefresh)
	if j := b.rt.jwks[key]; j != nil {
		return j
	}
	j := &authn.JWKS{URL: ip.JWKSURL, RefreshInterval: time.Duration(ip.JWKSRefresh),
		MinRefreshInterval: time.Duration(ip.JWKSMinRefresh), Logger: b.rt.logger}
	if b.start {
		b.rt.jwks[key] = j
		j.Start(b.rt.ctx)
	}
	return j
}

func (b *buildState) redisStore(r *RedisSettings) ratelimit.Store {
	key := fmt.Sprintf("%s|%s|%s|%d|%s|%v|%v", r.Addr, r.Username, r.PasswordEnv, r.DB, r.Prefix, r.Timeout, r.Backoff)
	if s := b.rt.redis[key]; s != nil {
		return s
	}
	if r.PasswordEnv != "" && os.Getenv(r.PasswordEnv) == "" {
		b.errf("rate_limit.redis.password_env", "the environment variable %s is empty or unset", r.PasswordEnv)
	}
	timeout := time.Duration(r.Timeout)
	if timeout == 0 {
		timeout = DefaultRedisTimeout
	}
	if !b.start {
		return nil
	}
	client := redis.NewClient(&redis.Options{
		Addr: r.Addr, Username: r.Username, Password: os.Getenv(r.PasswordEnv), DB: r.DB,
		// The store's own timeout and backoff handle failures: no retries
		// that would hold a request longer than the timeout.
		MaxRetries: -1, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		ContextTimeoutEnabled: true,
	})
	s := &ratelimit.Redis{Client: client, Prefix: r.Prefix, Timeout: timeout, Backoff: time.Duration(r.Backoff)}
	b.rt.rdbs = append(b.rt.rdbs, client)
	b.rt.redis[key] = s
	return s
}

// methods builds a route's authentication methods, in its order.
func (b *buildState) methods(path string, a *RouteAuth, issuers map[string]authn.Issuer, store consumer.Store) []authn.Method {
	s := b.l.security
	var out []authn.Method
	for _, m := range a.Methods {
		switch m {
		case consumer.MethodJWT:
			names := a.Issuers
			if len(names) == 0 {
				names = s.issuerOrder
			}
			var list []authn.Issuer
			for _, n := range names {
				if is, ok := issuers[n]; ok {
					list = append(list, is)
				}
			}
			if len(list) == 0 {
				continue // the issuers' problems are reported
			}
			j, err := authn.NewJWT(list...)
			if err != nil {
				b.errf(join(path, "auth"), "%v", err)
				continue
			}
			out = append(out, j)
		case consumer.MethodAPIKey:
			if store != nil {
				k := s.apiKey
				k.Store = store
				out = append(out, &k)
			}
		case consumer.MethodMTLS:
			if store != nil {
				out = append(out, &authn.MTLS{Store: store})
			}
		}
	}
	return out
}
