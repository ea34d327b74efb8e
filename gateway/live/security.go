package live

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/headers"
	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/spec"
)

// security builds every route with its authentication, authorization and
// flow-limit middleware.
func (s *buildState) security() {
	c, rt := s.c, s.rt
	a := c.Auth
	if a == nil {
		a = &spec.Auth{}
	}
	store := s.consumers(a)
	issuers := s.issuers(a, store)
	var redisStore ratelimit.Store
	if c.RateLimit != nil && c.RateLimit.Redis != nil {
		redisStore = s.redisStore(c.RateLimit.Redis)
	}
	realm := a.Realm
	if realm == "" {
		realm = spec.DefaultRealm
	}
	authnOpts := []authn.Option{authn.WithRealm(realm), authn.WithLogger(rt.logger)}
	authzOpts := []authz.Option{authz.WithLogger(rt.logger)}
	limitOpts := []ratelimit.Option{ratelimit.WithLogger(rt.logger)}
	if rt.authnM != nil {
		authnOpts = append(authnOpts, authn.WithMetrics(rt.authnM))
		authzOpts = append(authzOpts, authz.WithMetrics(rt.authzM))
		limitOpts = append(limitOpts, ratelimit.WithMetrics(rt.limitsM))
	}
	var trusted = s.b.Gateway.TrustedProxies
	ip := ratelimit.ClientIP(trusted...)
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
	policies := func(plans []spec.LimitPlan) []ratelimit.Policy {
		var out []ratelimit.Policy
		for _, pp := range plans {
			p := ratelimit.Policy{Name: pp.Name, Limit: ratelimit.Limit{Rate: pp.Rate, Period: pp.Per, Burst: pp.Burst},
				Key: keyFunc(pp.Key), FailClosed: pp.FailClosed}
			if pp.Redis {
				p.Store = redisStore
			} else {
				// Buckets by policy name: a reload does not hand everyone a
				// fresh budget.
				v, _ := s.get("local|"+pp.Name, func() (any, func(), error) { return &ratelimit.Local{}, nil, nil })
				p.Store = v.(*ratelimit.Local)
			}
			out = append(out, p)
		}
		return out
	}
	// Consumers' own limits (plans): one budget per consumer limit across
	// every route, so one middleware instance's stores serve all routes.
	var consumerLimits func(http.Handler) http.Handler
	if a.ConsumersFile != "" || slices.ContainsFunc(c.Consumers, func(x consumer.Consumer) bool { return len(x.RateLimit) > 0 }) {
		v, _ := s.get("local|consumer-limits", func() (any, func(), error) { return &ratelimit.Local{}, nil, nil })
		consumerLimits = ratelimit.ConsumerLimits(v.(*ratelimit.Local), redisStore, limitOpts...)
	}
	var forward authn.ForwardHeaders
	if fw := a.Forward; fw != nil {
		forward = authn.ForwardHeaders{ConsumerID: fw.ConsumerID, Method: fw.Method, Credential: fw.Credential,
			Scopes: fw.Scopes, Roles: fw.Roles, Groups: fw.Groups}
	}

	for i := range c.Routes {
		r := &c.Routes[i]
		path := spec.Index("routes", i)
		built := builtRoute(*r, c)
		s.b.routes[r.Name] = true
		// guards answer every request alike, preflights included; the
		// route table puts the CORS policy after them and before mw (see
		// route.Route), so that preflights, which carry no credentials, are
		// answered before authentication and rate limits, and their
		// refusals carry the CORS headers.
		var guards, mw []func(http.Handler) http.Handler
		// The lifecycle first: a retired or draft route answers before
		// limits and authentication spend anything on it.
		if r.Lifecycle != nil {
			l := *r.Lifecycle
			if l.State == spec.LifecycleDeprecated && l.Since == "" {
				// Deprecated since the first build that deprecated it, not
				// since every reload.
				at, ok := rt.deprecatedAt[r.Name]
				if !ok {
					at = time.Now().UTC().Truncate(time.Second)
				}
				s.b.deprecatedAt[r.Name] = at
				l.Since = at.Format(time.RFC3339)
			}
			guards = append(guards, lifecycle.Middleware(l))
		}
		// Client addresses next: refusing a range costs nothing, so it
		// comes before the limits and the signature checks it spares. After
		// the lifecycle, so a draft route stays a 404 to everyone.
		if l := r.IPAccess; l != nil {
			rule, err := ipaccess.ParseRule(*l)
			if err != nil { // Validate placed it at its entry
				s.errf(spec.Join(path, "ip_access"), "%v", err)
			}
			guards = append(guards, ipaccess.Middleware(rule))
		}
		plans := r.LimitPlans()
		pre := slices.DeleteFunc(slices.Clone(plans), func(p spec.LimitPlan) bool { return p.AfterAuthn })
		post := slices.DeleteFunc(slices.Clone(plans), func(p spec.LimitPlan) bool { return !p.AfterAuthn })
		// Limits keyed by IP, header or route come first: they protect the
		// authentication itself (signature checks cost CPU) from floods.
		// Limits keyed by consumer need the identity.
		if len(pre) > 0 {
			mw = append(mw, ratelimit.Middleware(policies(pre), limitOpts...))
		}
		if ra := r.Auth; ra != nil {
			methods := s.methods(path, a, ra, issuers, store)
			mw = append(mw, authn.Middleware(methods, append(slices.Clone(authnOpts), authn.WithAnonymous(ra.Anonymous))...))
		}
		if az := r.Authorize; az != nil {
			mw = append(mw, authz.Middleware(authzPolicy(az), authzOpts...))
		}
		if consumerLimits != nil && r.Auth != nil {
			mw = append(mw, consumerLimits)
		}
		// Deprecated calls by consumer: after authentication, before the
		// limits, so each call made is counted once.
		if rt.lifeM != nil && lifecycle.State(r.Lifecycle) == spec.LifecycleDeprecated {
			mw = append(mw, rt.lifeM.CountDeprecated(r.Name))
		}
		if len(post) > 0 {
			mw = append(mw, ratelimit.Middleware(policies(post), limitOpts...))
		}
		if cc := r.Concurrency; cc != nil && cc.Max > 0 {
			name := r.Name + ":concurrency"
			// Counters by policy name: requests in flight across a reload
			// still count against the limit.
			v, _ := s.get("inflight|"+name, func() (any, func(), error) { return ratelimit.NewInFlight(), nil, nil })
			mw = append(mw, ratelimit.Concurrency(ratelimit.ConcurrencyPolicy{Name: name, Max: cc.Max,
				Key: keyFunc(cc.ConcurrencyKey()), Counter: v.(*ratelimit.InFlight)}, limitOpts...))
		}
		// Header rules after authentication and the limits (they see the
		// client's own headers) and before the identity headers (which a
		// rule cannot overwrite) and the cache (which sees the request the
		// upstream sees); see package headers.
		if r.Headers != nil {
			if h, err := headers.New(*r.Headers); err != nil {
				s.errf(spec.Join(path, "headers"), "%v", err)
			} else {
				mw = append(mw, h.Middleware)
			}
		}
		if forward != (authn.ForwardHeaders{}) {
			mw = append(mw, authn.Forward(forward))
		}
		mw = append(mw, s.processing(path, r)...)
		built.Guards, built.Middleware = guards, mw
		s.b.Gateway.Routes = append(s.b.Gateway.Routes, built)
	}
}

func authzPolicy(az *spec.Authorize) authz.Policy {
	rule := func(r spec.AuthzRule) authz.Rule {
		return authz.Rule{Anonymous: r.Anonymous, Scopes: r.Scopes, Roles: r.Roles, Groups: r.Groups, Consumers: r.Consumers}
	}
	p := authz.Policy{Rule: rule(az.Rule()), Deny: az.Deny}
	for m, r := range az.Methods {
		if p.Methods == nil {
			p.Methods = map[string]authz.Rule{}
		}
		p.Methods[strings.ToUpper(m)] = rule(r)
	}
	return p
}

// consumers returns the consumer store, or nil when none is configured.
func (s *buildState) consumers(a *spec.Auth) consumer.Store {
	if path := a.ConsumersFile; path != "" {
		v, err := s.get("consumers_file|"+path, func() (any, func(), error) {
			f, err := consumer.LoadFile(path)
			if err != nil {
				return nil, nil, err
			}
			if !s.start {
				return f, nil, nil
			}
			ctx, cancel := contextFrom(s.rt)
			go f.Watch(ctx, 2*time.Second, s.rt.logger)
			return f, cancel, nil
		})
		if err != nil {
			s.errf("auth.consumers_file", "%v", err)
			return nil
		}
		f := v.(*consumer.File)
		if _, err := f.Reload(); err != nil {
			s.errf("auth.consumers_file", "%v", err)
		}
		return f
	}
	if len(s.c.Consumers) > 0 {
		m, err := consumer.NewMemory(s.c.Consumers)
		if err != nil { // Validate checked them
			s.errf("consumers", "%v", err)
			return nil
		}
		return m
	}
	return nil
}

// issuers builds every auth.jwt issuer, by name.
func (s *buildState) issuers(a *spec.Auth, store consumer.Store) map[string]authn.Issuer {
	out := map[string]authn.Issuer{}
	for _, name := range slices.Sorted(maps.Keys(a.JWT)) {
		ip := a.JWT[name]
		path := spec.Join("auth.jwt", name)
		is := authn.Issuer{
			Name: name, Issuer: ip.Issuer, Audiences: ip.Audiences, Algorithms: ip.Algorithms,
			Leeway: spec.DefaultLeeway, SubjectClaim: ip.SubjectClaim, ConsumerPrefix: ip.ConsumerPrefix,
			ScopesClaim: ip.ScopesClaim, RolesClaim: ip.RolesClaim, GroupsClaim: ip.GroupsClaim,
			Store: store, RequireConsumer: ip.RequireConsumer,
		}
		if ip.Leeway != nil {
			is.Leeway = ip.Leeway.Std()
		}
		switch {
		case ip.JWKSURL != "":
			is.Keys = s.jwks(ip)
		case ip.KeysFile != "":
			data, err := os.ReadFile(ip.KeysFile)
			if err == nil {
				var keys []authn.Key
				if keys, err = authn.ParseKeys(data); err == nil {
					is.Keys = authn.StaticKeys(keys)
				}
			}
			if err != nil {
				s.errf(spec.Join(path, "keys_file"), "%v", err)
				continue
			}
		case ip.SecretFile != "":
			data, err := os.ReadFile(ip.SecretFile)
			if err != nil {
				s.errf(spec.Join(path, "secret_file"), "%v", err)
				continue
			}
			is.Keys = authn.StaticKeys{{Public: []byte(strings.TrimRight(string(data), "\r\n"))}}
		case ip.SecretEnv != "":
			v := os.Getenv(ip.SecretEnv)
			if v == "" {
				s.errf(spec.Join(path, "secret_env"), "the environment variable %s is empty or unset", ip.SecretEnv)
				continue
			}
			is.Keys = authn.StaticKeys{{Public: []byte(v)}}
		}
		if is.RequireConsumer && store == nil {
			continue // reported with the consumers
		}
		if _, err := authn.NewJWT(is); err != nil {
			s.errf(path, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("jwt issuer 0 (%s): ", name)))
			continue
		}
		out[name] = is
	}
	return out
}

func (s *buildState) jwks(ip spec.JWTIssuer) *authn.JWKS {
	refresh, minRefresh := ip.JWKSRefresh.Std(), ip.JWKSMinRefresh.Std()
	key := fmt.Sprintf("jwks|%s|%v|%v", ip.JWKSURL, refresh, minRefresh)
	v, _ := s.get(key, func() (any, func(), error) {
		j := &authn.JWKS{URL: ip.JWKSURL, RefreshInterval: refresh, MinRefreshInterval: minRefresh, Logger: s.rt.logger}
		if !s.start {
			return j, nil, nil
		}
		ctx, cancel := contextFrom(s.rt)
		j.Start(ctx)
		return j, cancel, nil
	})
	return v.(*authn.JWKS)
}

// methods builds a route's authentication methods, in its order.
func (s *buildState) methods(path string, a *spec.Auth, ra *spec.RouteAuth, issuers map[string]authn.Issuer, store consumer.Store) []authn.Method {
	var out []authn.Method
	for _, m := range ra.Methods {
		switch m {
		case consumer.MethodJWT:
			names := ra.Issuers
			if len(names) == 0 {
				names = slices.Sorted(maps.Keys(a.JWT))
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
				s.errf(spec.Join(path, "auth"), "%v", err)
				continue
			}
			out = append(out, j)
		case consumer.MethodAPIKey:
			if store != nil {
				k := authn.APIKey{Store: store}
				if ak := a.APIKey; ak != nil {
					k.Header, k.Query = ak.Header, ak.Query
				}
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
