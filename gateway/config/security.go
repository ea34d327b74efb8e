package config

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/ratelimit"
)

// Defaults of the security settings (see docs/configuration.md and
// docs/security.md).
const (
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxHeaderCount    = 100
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultRateLimitPeriod   = time.Second
	DefaultRedisTimeout      = ratelimit.DefaultRedisTimeout
	DefaultRedisBackoff      = ratelimit.DefaultRedisBackoff
)

// TLS is the tls section: TLS on the proxy listener, and client
// certificates for auth method mtls.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the CAs (PEM) that client certificates are
	// verified against; without it no client certificate is asked for.
	ClientCAFile string `yaml:"client_ca_file,omitempty"`
	// ClientAuth is request (verify a certificate if the client sends one;
	// the default with client_ca_file) or require (refuse the handshake
	// without one).
	ClientAuth string `yaml:"client_auth,omitempty"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version,omitempty"`
}

// Limits is the limits section: bounds on what a client may send.
type Limits struct {
	MaxHeaderBytes    Size     `yaml:"max_header_bytes,omitempty"`
	MaxHeaderCount    int      `yaml:"max_header_count,omitempty"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout,omitempty"`
	IdleTimeout       Duration `yaml:"idle_timeout,omitempty"`
	// MaxBodyBytes is the body limit of routes without max_body_bytes.
	MaxBodyBytes Size `yaml:"max_body_bytes,omitempty"`
}

// Auth is the auth section: how callers authenticate, shared by routes.
type Auth struct {
	// Realm of the WWW-Authenticate challenges (default "gatescale").
	Realm string `yaml:"realm,omitempty"`
	// ConsumersFile is a consumers file (package consumer), reloaded when
	// it changes; the alternative to a top-level consumers list.
	ConsumersFile string `yaml:"consumers_file,omitempty"`
	// APIKey says where API keys are read.
	APIKey *APIKeyAuth `yaml:"api_key,omitempty"`
	// JWT lists the trusted token issuers by name.
	JWT map[string]JWTIssuer `yaml:"jwt,omitempty"`
	// Forward names the headers that carry the identity upstream.
	Forward *Forward `yaml:"forward,omitempty"`
}

// APIKeyAuth is auth.api_key.
type APIKeyAuth struct {
	Header string `yaml:"header,omitempty"`
	Query  string `yaml:"query,omitempty"`
}

// JWTIssuer is one entry of auth.jwt; see authn.Issuer.
type JWTIssuer struct {
	Issuer     string   `yaml:"issuer"`
	Audiences  []string `yaml:"audiences"`
	Algorithms []string `yaml:"algorithms"`
	// Exactly one key source: a JWKS URL, a file of public keys (PEM or
	// JWK set), or an HMAC secret from a file or an environment variable.
	JWKSURL        string   `yaml:"jwks_url,omitempty"`
	JWKSRefresh    Duration `yaml:"jwks_refresh,omitempty"`
	JWKSMinRefresh Duration `yaml:"jwks_min_refresh,omitempty"`
	KeysFile       string   `yaml:"keys_file,omitempty"`
	SecretFile     string   `yaml:"secret_file,omitempty"`
	SecretEnv      string   `yaml:"secret_env,omitempty"`
	Leeway         Duration `yaml:"leeway,omitempty"`
	SubjectClaim   string   `yaml:"subject_claim,omitempty"`
	ConsumerPrefix string   `yaml:"consumer_prefix,omitempty"`
	ScopesClaim    string   `yaml:"scopes_claim,omitempty"`
	RolesClaim     string   `yaml:"roles_claim,omitempty"`
	GroupsClaim    string   `yaml:"groups_claim,omitempty"`
	// RequireConsumer refuses tokens whose subject is not a consumer.
	RequireConsumer bool `yaml:"require_consumer,omitempty"`
}

// Forward is auth.forward; see authn.ForwardHeaders.
type Forward struct {
	ConsumerID string `yaml:"consumer_id,omitempty"`
	Method     string `yaml:"method,omitempty"`
	Credential string `yaml:"credential,omitempty"`
	Scopes     string `yaml:"scopes,omitempty"`
	Roles      string `yaml:"roles,omitempty"`
	Groups     string `yaml:"groups,omitempty"`
}

// RateLimitSettings is the top-level rate_limit section.
type RateLimitSettings struct {
	// Redis is where store: redis policies keep their buckets.
	Redis *RedisSettings `yaml:"redis,omitempty"`
}

// RedisSettings is rate_limit.redis.
type RedisSettings struct {
	Addr        string   `yaml:"addr"`
	Username    string   `yaml:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty"`
	DB          int      `yaml:"db,omitempty"`
	Prefix      string   `yaml:"prefix,omitempty"`
	Timeout     Duration `yaml:"timeout,omitempty"`
	Backoff     Duration `yaml:"backoff,omitempty"`
}

// RouteAuth is a route's auth.
type RouteAuth struct {
	// Methods are tried in order: jwt, api_key, mtls.
	Methods []string `yaml:"methods"`
	// Issuers restricts jwt to these auth.jwt names (default: all).
	Issuers []string `yaml:"issuers,omitempty"`
	// Anonymous lets requests without credentials through.
	Anonymous bool `yaml:"anonymous,omitempty"`
}

// Authorize is a route's authorize; see authz.Policy.
type Authorize struct {
	Anonymous bool                 `yaml:"anonymous,omitempty"`
	Scopes    []string             `yaml:"scopes,omitempty"`
	Roles     []string             `yaml:"roles,omitempty"`
	Groups    []string             `yaml:"groups,omitempty"`
	Consumers []string             `yaml:"consumers,omitempty"`
	Deny      []string             `yaml:"deny,omitempty"`
	Methods   map[string]AuthzRule `yaml:"methods,omitempty"`
}

// AuthzRule is one entry of authorize.methods.
type AuthzRule struct {
	Anonymous bool     `yaml:"anonymous,omitempty"`
	Scopes    []string `yaml:"scopes,omitempty"`
	Roles     []string `yaml:"roles,omitempty"`
	Groups    []string `yaml:"groups,omitempty"`
	Consumers []string `yaml:"consumers,omitempty"`
}

// RateLimitPolicy is one entry of a route's rate_limit list.
type RateLimitPolicy struct {
	// Name labels the policy; policies of one name share buckets (default:
	// the route's name, with "#2", "#3"... for later entries).
	Name  string   `yaml:"name,omitempty"`
	Rate  int      `yaml:"rate"`
	Per   Duration `yaml:"per,omitempty"`
	Burst int      `yaml:"burst,omitempty"`
	// Key is route (default), ip, consumer, api_key or header:NAME.
	Key string `yaml:"key,omitempty"`
	// Store is local (default) or redis.
	Store string `yaml:"store,omitempty"`
	// FailureMode is open (default) or closed: what to do while the store
	// is unavailable.
	FailureMode string `yaml:"failure_mode,omitempty"`
}

// Concurrency is a route's concurrency limit.
type Concurrency struct {
	Max int `yaml:"max"`
	// Key is route (default), ip or consumer.
	Key string `yaml:"key,omitempty"`
}

// ServerSettings are the listener settings of the limits section, with
// defaults applied.
type ServerSettings struct {
	MaxHeaderBytes    int
	MaxHeaderCount    int
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
}

// securityPlan is the security settings, validated and with defaults, for
// Runtime.Build. Parse reads no files and contacts nothing: that is left
// to Build.
type securityPlan struct {
	realm         string
	consumers     []consumer.Consumer
	consumersFile string
	apiKey        authn.APIKey // Store left nil
	issuers       map[string]issuerPlan
	issuerOrder   []string
	forward       authn.ForwardHeaders
	redis         *RedisSettings
	tls           *TLS
	routes        map[int]*routePlan // by index in Loaded.Gateway.Routes
	policies      map[string]policyRef
}

type issuerPlan struct {
	path string // auth.jwt.NAME, for errors found by Build
	JWTIssuer
}

type routePlan struct {
	name        string
	path        string // routes[i] in the file
	auth        *RouteAuth
	authorize   *authz.Policy
	pre, post   []policyPlan // rate limits before authentication (by ip, route, header) and after
	concurrency *concurrencyPlan
}

type policyPlan struct {
	name        string
	limit       ratelimit.Limit
	key         string // route, ip, consumer, api_key, header:NAME
	redis       bool
	failClosed  bool
	afterAuthn  bool
	description string // for comparing policies that share a name
}

type policyRef struct {
	path string
	desc string
}

type concurrencyPlan struct {
	max int
	key string
}

// needsRuntime reports whether the plan has anything Loaded.Gateway cannot
// do by itself.
func (s *securityPlan) needsRuntime(i int) bool {
	return s.routes[i] != nil || s.forward != (authn.ForwardHeaders{})
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// security validates the top-level security sections.
func (p *parseState) security(l *Loaded) {
	f := &p.file
	s := &securityPlan{realm: authn.DefaultRealm, issuers: map[string]issuerPlan{}, routes: map[int]*routePlan{}, policies: map[string]policyRef{}}
	l.security = s

	l.Server = ServerSettings{
		MaxHeaderBytes: DefaultMaxHeaderBytes, MaxHeaderCount: DefaultMaxHeaderCount,
		ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
	}
	if lim := f.Limits; lim != nil {
		if hb := "limits.max_header_bytes"; lim.MaxHeaderBytes < 0 || lim.MaxHeaderBytes > 0 && lim.MaxHeaderBytes < 1024 ||
			lim.MaxHeaderBytes == 0 && p.present(hb) {
			p.errf(hb, "must be at least 1KiB (default 64KiB)")
		} else if lim.MaxHeaderBytes > 0 {
			l.Server.MaxHeaderBytes = int(min(lim.MaxHeaderBytes, 1<<30))
		}
		if hc := "limits.max_header_count"; lim.MaxHeaderCount < 0 || lim.MaxHeaderCount == 0 && p.present(hc) {
			p.errf(hc, "must be at least 1 (default %d)", DefaultMaxHeaderCount)
		} else if lim.MaxHeaderCount > 0 {
			l.Server.MaxHeaderCount = lim.MaxHeaderCount
		}
		l.Server.ReadHeaderTimeout = p.positiveOrDefault("limits.read_header_timeout", time.Duration(lim.ReadHeaderTimeout), DefaultReadHeaderTimeout)
		l.Server.IdleTimeout = p.positiveOrDefault("limits.idle_timeout", time.Duration(lim.IdleTimeout), DefaultIdleTimeout)
		if lim.MaxBodyBytes < 0 || lim.MaxBodyBytes == 0 && p.present("limits.max_body_bytes") {
			p.errf("limits.max_body_bytes", "must be positive (omit it for no default limit)")
		}
	}

	if t := f.TLS; t != nil {
		s.tls = t
		if t.CertFile == "" {
			p.errf("tls.cert_file", "is required with tls")
		}
		if t.KeyFile == "" {
			p.errf("tls.key_file", "is required with tls")
		}
		switch t.ClientAuth {
		case "":
		case "request", "require":
			if t.ClientCAFile == "" {
				p.errf("tls.client_ca_file", "is required with client_auth: %s", t.ClientAuth)
			}
		default:
			p.errf("tls.client_auth", "%q is not request or require", t.ClientAuth)
		}
		switch t.MinVersion {
		case "", "1.2", "1.3":
		default:
			p.errf("tls.min_version", "%q is not \"1.2\" or \"1.3\"", t.MinVersion)
		}
	}

	a := f.Auth
	if a == nil {
		a = &Auth{}
	}
	if a.Realm != "" {
		if strings.ContainsAny(a.Realm, "\"\\") || !validHeaderValue(a.Realm) {
			p.errf("auth.realm", "%q must not contain quotes, backslashes or control characters", a.Realm)
		}
		s.realm = a.Realm
	}
	switch {
	case a.ConsumersFile != "" && len(f.Consumers) > 0:
		p.errf("auth.consumers_file", "consumers_file and a top-level consumers list are exclusive: use one")
	case a.ConsumersFile != "":
		s.consumersFile = a.ConsumersFile
	case p.present("auth.consumers_file"):
		p.errf("auth.consumers_file", "must not be empty")
	}
	if len(f.Consumers) > 0 && !p.hasStructErr("consumers") {
		if err := consumer.Validate(f.Consumers); err != nil {
			for _, e := range leafErrors(err) {
				path, msg, ok := strings.Cut(e.Error(), ": ")
				if !ok {
					path, msg = "consumers", e.Error()
				}
				p.errf(path, "%s", msg)
			}
		}
		s.consumers = f.Consumers
	}
	if k := a.APIKey; k != nil {
		s.apiKey.Header, s.apiKey.Query = k.Header, k.Query
		if k.Header != "" && !isToken(k.Header) {
			p.errf("auth.api_key.header", "%q is not a valid header name", k.Header)
		}
		if p.present("auth.api_key.query") && strings.TrimSpace(k.Query) == "" {
			p.errf("auth.api_key.query", "must not be empty (omit it to accept keys only in the header)")
		}
	}
	for _, name := range sortedKeys(a.JWT) {
		p.issuer(s, join("auth.jwt", name), name, a.JWT[name])
	}
	if fw := a.Forward; fw != nil {
		s.forward = authn.ForwardHeaders{ConsumerID: fw.ConsumerID, Method: fw.Method, Credential: fw.Credential,
			Scopes: fw.Scopes, Roles: fw.Roles, Groups: fw.Groups}
		seen := map[string]string{}
		for _, kv := range [][2]string{{"consumer_id", fw.ConsumerID}, {"method", fw.Method}, {"credential", fw.Credential},
			{"scopes", fw.Scopes}, {"roles", fw.Roles}, {"groups", fw.Groups}} {
			path := join("auth.forward", kv[0])
			h := kv[1]
			if h == "" {
				if p.present(path) {
					p.errf(path, "must not be empty (omit it to send nothing)")
				}
				continue
			}
			canon := http.CanonicalHeaderKey(strings.ReplaceAll(h, "_", "-"))
			switch {
			case !isToken(h):
				p.errf(path, "%q is not a valid header name", h)
			case reservedHeader(canon):
				p.errf(path, "%q is a header the gateway or HTTP itself manages: choose another name", h)
			case seen[canon] != "":
				p.errf(path, "%q is already used by %s", h, seen[canon])
			}
			seen[canon] = kv[0]
		}
	}

	if rl := f.RateLimit; rl != nil && rl.Redis != nil {
		r := rl.Redis
		s.redis = r
		base := "rate_limit.redis"
		if r.Addr == "" {
			p.errf(join(base, "addr"), "is required (host:port)")
		} else if host, port, err := net.SplitHostPort(r.Addr); err != nil || host == "" || !validHost(host) || !validPort(port) {
			p.errf(join(base, "addr"), "%q is not host:port", r.Addr)
		}
		if r.DB < 0 {
			p.errf(join(base, "db"), "must not be negative")
		}
		if r.PasswordEnv != "" && !envName.MatchString(r.PasswordEnv) {
			p.errf(join(base, "password_env"), "%q is not an environment variable name", r.PasswordEnv)
		}
		p.positiveDuration(join(base, "timeout"), time.Duration(r.Timeout), DefaultRedisTimeout)
		p.positiveDuration(join(base, "backoff"), time.Duration(r.Backoff), DefaultRedisBackoff)
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// reservedHeader reports headers that must not carry identity: hop-by-hop
// headers, framing, and what the proxy sets itself.
func reservedHeader(canon string) bool {
	switch canon {
	case "Authorization", "Host", "Connection", "Content-Length", "Transfer-Encoding", "Te", "Trailer", "Upgrade",
		"Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Cookie", "X-Forwarded-For", "X-Forwarded-Host",
		"X-Forwarded-Proto", "Forwarded", "X-Request-Id":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var supportedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}

func (p *parseState) issuer(s *securityPlan, path, name string, is JWTIssuer) {
	if p.hasStructErr(path) {
		return
	}
	nerr := p.doc.ErrorCount()
	if is.Issuer == "" {
		p.errf(join(path, "issuer"), "is required (the exact iss of the tokens)")
	}
	for other, o := range s.issuers {
		if o.Issuer == is.Issuer && is.Issuer != "" {
			p.errf(join(path, "issuer"), "%q is already the issuer of auth.jwt.%s", is.Issuer, other)
		}
	}
	if len(is.Audiences) == 0 {
		p.errf(join(path, "audiences"), "at least one audience is required: without it a token minted for any other service of the issuer would be accepted")
	}
	for i, a := range is.Audiences {
		if strings.TrimSpace(a) == "" {
			p.errf(join(path, "audiences")+"["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	hmac, public := false, false
	if len(is.Algorithms) == 0 {
		p.errf(join(path, "algorithms"), "is required: the algorithms this issuer signs with (e.g. [RS256])")
	}
	for i, alg := range is.Algorithms {
		ap := join(path, "algorithms") + "[" + strconv.Itoa(i) + "]"
		switch {
		case strings.EqualFold(alg, "none"):
			p.errf(ap, "none is never accepted: unsigned tokens prove nothing")
		case !slices.Contains(supportedAlgorithms, alg):
			p.errf(ap, "%q is not supported (%s)", alg, strings.Join(supportedAlgorithms, ", "))
		case strings.HasPrefix(alg, "HS"):
			hmac = true
		default:
			public = true
		}
	}
	if hmac && public {
		p.errf(join(path, "algorithms"), "HMAC (HS*) and public-key algorithms must not be mixed in one issuer: a token could then be verified with a public key used as an HMAC secret")
	}
	var sources []string
	for _, kv := range [][2]string{{"jwks_url", is.JWKSURL}, {"keys_file", is.KeysFile}, {"secret_file", is.SecretFile}, {"secret_env", is.SecretEnv}} {
		if kv[1] != "" || p.present(join(path, kv[0])) {
			sources = append(sources, kv[0])
		}
	}
	switch {
	case len(sources) == 0:
		p.errf(path, "needs one key source: jwks_url, keys_file, secret_file or secret_env")
	case len(sources) > 1:
		p.errf(join(path, sources[1]), "has %s: set exactly one key source", strings.Join(sources, " and "))
	case hmac && (is.JWKSURL != "" || is.KeysFile != ""):
		p.errf(join(path, sources[0]), "HS* algorithms need a secret (secret_file or secret_env), not public keys")
	case public && (is.SecretFile != "" || is.SecretEnv != ""):
		p.errf(join(path, sources[0]), "public-key algorithms need jwks_url or keys_file, not a secret")
	}
	if is.JWKSURL != "" {
		u, err := url.Parse(is.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.errf(join(path, "jwks_url"), "%q is not an http(s) URL", is.JWKSURL)
		}
	} else {
		for _, k := range []string{"jwks_refresh", "jwks_min_refresh"} {
			if p.present(join(path, k)) {
				p.errf(join(path, k), "is only used with jwks_url")
			}
		}
	}
	p.positiveDuration(join(path, "jwks_refresh"), time.Duration(is.JWKSRefresh), authn.DefaultJWKSRefresh)
	p.positiveDuration(join(path, "jwks_min_refresh"), time.Duration(is.JWKSMinRefresh), authn.DefaultJWKSMinRefresh)
	if is.SecretEnv != "" && !envName.MatchString(is.SecretEnv) {
		p.errf(join(path, "secret_env"), "%q is not an environment variable name", is.SecretEnv)
	}
	if lw := time.Duration(is.Leeway); lw < 0 || lw > 5*time.Minute {
		p.errf(join(path, "leeway"), "must be from 0 to 5m (default %v)", authn.DefaultLeeway)
	}
	if is.RequireConsumer && len(p.file.Consumers) == 0 && (p.file.Auth == nil || p.file.Auth.ConsumersFile == "") {
		p.errf(join(path, "require_consumer"), "needs consumers (a consumers list or auth.consumers_file)")
	}
	if p.doc.ErrorCount() == nerr {
		s.issuers[name] = issuerPlan{path: path, JWTIssuer: is}
		s.issuerOrder = append(s.issuerOrder, name)
	}
}

var authMethods = []string{consumer.MethodJWT, consumer.MethodAPIKey, consumer.MethodMTLS}

// routeSecurity validates a route's auth, authorize, rate_limit,
// concurrency and case_insensitive and records its plan.
func (p *parseState) routeSecurity(path string, r Route, i int, l *Loaded) {
	s := l.security
	spec := &l.Gateway.Routes[i]
	spec.CaseInsensitive = r.CaseInsensitive
	if spec.MaxBodyBytes == 0 && p.file.Limits != nil && p.file.Limits.MaxBodyBytes > 0 {
		spec.MaxBodyBytes = int64(p.file.Limits.MaxBodyBytes)
	}
	if r.Auth == nil && r.Authorize == nil && len(r.RateLimit) == 0 && r.Concurrency == nil {
		return
	}
	plan := &routePlan{name: r.Name, path: path}
	hasConsumers := len(p.file.Consumers) > 0 || s.consumersFile != ""

	if a := r.Auth; a != nil {
		ap := join(path, "auth")
		plan.auth = a
		if len(a.Methods) == 0 {
			p.errf(join(ap, "methods"), "at least one method is required (%s)", strings.Join(authMethods, ", "))
		}
		seen := map[string]int{}
		for j, m := range a.Methods {
			mp := join(ap, "methods") + "[" + strconv.Itoa(j) + "]"
			if k, dup := seen[m]; dup {
				p.errf(mp, "%s is already listed (methods[%d])", m, k)
			}
			seen[m] = j
			switch m {
			case consumer.MethodJWT:
				if p.file.Auth == nil || len(p.file.Auth.JWT) == 0 {
					p.errf(mp, "jwt needs issuers under auth.jwt")
				}
			case consumer.MethodAPIKey:
				if !hasConsumers {
					p.errf(mp, "api_key needs consumers (a consumers list or auth.consumers_file)")
				}
			case consumer.MethodMTLS:
				if s.tls == nil || s.tls.ClientCAFile == "" {
					p.errf(mp, "mtls needs tls with client_ca_file")
				}
				if !hasConsumers {
					p.errf(mp, "mtls needs consumers (a consumers list or auth.consumers_file)")
				}
			default:
				p.errf(mp, "%q is not an authentication method (%s)", m, strings.Join(authMethods, ", "))
			}
		}
		if len(a.Issuers) > 0 && !slices.Contains(a.Methods, consumer.MethodJWT) {
			p.errf(join(ap, "issuers"), "is only used with method jwt")
		}
		for j, is := range a.Issuers {
			if p.file.Auth == nil || !hasKey(p.file.Auth.JWT, is) {
				defined := "none are defined"
				if p.file.Auth != nil && len(p.file.Auth.JWT) > 0 {
					defined = "defined: " + strings.Join(sortedKeys(p.file.Auth.JWT), ", ")
				}
				p.errf(join(ap, "issuers")+"["+strconv.Itoa(j)+"]", "%q is not an issuer under auth.jwt (%s)", is, defined)
			}
		}
	}

	if az := r.Authorize; az != nil {
		azp := join(path, "authorize")
		if r.Auth == nil {
			p.errf(azp, "authorize needs auth on the route: without it every caller is anonymous")
		}
		pol := authz.Policy{
			Rule: authz.Rule{Anonymous: az.Anonymous, Scopes: az.Scopes, Roles: az.Roles, Groups: az.Groups, Consumers: az.Consumers},
			Deny: az.Deny,
		}
		p.authzRule(azp, pol.Rule)
		for _, m := range sortedKeys(az.Methods) {
			rule := az.Methods[m]
			mp := join(join(azp, "methods"), m)
			up := strings.ToUpper(m)
			if up != "*" && !slices.Contains(knownMethods, up) {
				p.errKey(mp, "%q is not a method (%s) or *", m, strings.Join(knownMethods, ", "))
				continue
			}
			if pol.Methods == nil {
				pol.Methods = map[string]authz.Rule{}
			}
			if _, dup := pol.Methods[up]; dup {
				p.errKey(mp, "%s is listed twice", up)
			}
			ar := authz.Rule{Anonymous: rule.Anonymous, Scopes: rule.Scopes, Roles: rule.Roles, Groups: rule.Groups, Consumers: rule.Consumers}
			p.authzRule(mp, ar)
			pol.Methods[up] = ar
		}
		if (az.Anonymous || anyAnonymous(pol.Methods)) && r.Auth != nil && !r.Auth.Anonymous {
			p.errf(join(join(path, "auth"), "anonymous"), "authorize admits anonymous callers, but auth refuses them: set auth.anonymous: true")
		}
		plan.authorize = &pol
	}

	names := map[string]int{}
	for j, rp := range r.RateLimit {
		pp := join(path, "rate_limit") + "[" + strconv.Itoa(j) + "]"
		pl := policyPlan{name: rp.Name, key: rp.Key}
		if pl.name == "" {
			pl.name = r.Name
			if j > 0 {
				pl.name += "#" + strconv.Itoa(j+1)
			}
		} else if !validPolicyName(pl.name) {
			p.errf(join(pp, "name"), "%q must be letters, digits, and - _ . : # only", pl.name)
		}
		if k, dup := names[pl.name]; dup {
			p.errf(join(pp, "name"), "%q is already the name of rate_limit[%d]", pl.name, k)
		}
		names[pl.name] = j
		if rp.Rate < 1 {
			p.errf(join(pp, "rate"), "must be at least 1 (requests per `per`)")
		}
		per := time.Duration(rp.Per)
		if per == 0 && !p.present(join(pp, "per")) {
			per = DefaultRateLimitPeriod
		} else if per < time.Second || per%time.Second != 0 {
			p.errf(join(pp, "per"), "must be a whole number of seconds, at least 1s (default 1s)")
		}
		if rp.Burst < 0 || rp.Burst == 0 && p.present(join(pp, "burst")) {
			p.errf(join(pp, "burst"), "must be at least 1 (default: rate)")
		}
		pl.limit = ratelimit.Limit{Rate: rp.Rate, Period: per, Burst: rp.Burst}
		if pl.key == "" {
			pl.key = "route"
		}
		switch {
		case pl.key == "route" || pl.key == "ip":
		case pl.key == "consumer" || pl.key == "api_key":
			pl.afterAuthn = true
			if r.Auth == nil {
				p.errf(join(pp, "key"), "key %s needs auth on the route", pl.key)
			}
		case strings.HasPrefix(pl.key, "header:") && isToken(strings.TrimPrefix(pl.key, "header:")):
		default:
			p.errf(join(pp, "key"), "%q is not route, ip, consumer, api_key or header:NAME", rp.Key)
		}
		switch rp.Store {
		case "", "local":
		case "redis":
			pl.redis = true
			if s.redis == nil {
				p.errf(join(pp, "store"), "store redis needs rate_limit.redis at the top level")
			}
		default:
			p.errf(join(pp, "store"), "%q is not local or redis", rp.Store)
		}
		switch rp.FailureMode {
		case "", "open":
			if rp.FailureMode != "" && !pl.redis {
				p.errf(join(pp, "failure_mode"), "is only used with store: redis")
			}
		case "closed":
			pl.failClosed = true
			if !pl.redis {
				p.errf(join(pp, "failure_mode"), "is only used with store: redis")
			}
		default:
			p.errf(join(pp, "failure_mode"), "%q is not open or closed", rp.FailureMode)
		}
		pl.description = fmt.Sprintf("%d per %v burst %d key %s redis %v", rp.Rate, per, rp.Burst, pl.key, pl.redis)
		if ref, ok := s.policies[pl.name]; ok && ref.desc != pl.description {
			p.errf(pp, "policy %q is also defined at %s with other settings: policies of one name share buckets, so their settings must match", pl.name, ref.path)
		} else if !ok {
			s.policies[pl.name] = policyRef{path: pp, desc: pl.description}
		}
		if pl.afterAuthn {
			plan.post = append(plan.post, pl)
		} else {
			plan.pre = append(plan.pre, pl)
		}
	}

	if c := r.Concurrency; c != nil {
		cp := join(path, "concurrency")
		if c.Max < 1 {
			p.errf(join(cp, "max"), "must be at least 1")
		}
		key := c.Key
		switch key {
		case "", "route":
			key = "route"
		case "ip":
		case "consumer":
			if r.Auth == nil {
				p.errf(join(cp, "key"), "key consumer needs auth on the route")
			}
		default:
			p.errf(join(cp, "key"), "%q is not route, ip or consumer", c.Key)
		}
		plan.concurrency = &concurrencyPlan{max: c.Max, key: key}
	}
	s.routes[i] = plan
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func anyAnonymous(m map[string]authz.Rule) bool {
	for _, r := range m {
		if r.Anonymous {
			return true
		}
	}
	return false
}

func (p *parseState) authzRule(path string, r authz.Rule) {
	if r.Anonymous && len(r.Scopes)+len(r.Roles)+len(r.Groups)+len(r.Consumers) > 0 {
		p.errf(join(path, "anonymous"), "anonymous admits everyone: it cannot be combined with scopes, roles, groups or consumers")
	}
	for _, kv := range []struct {
		key  string
		vals []string
	}{{"scopes", r.Scopes}, {"roles", r.Roles}, {"groups", r.Groups}, {"consumers", r.Consumers}} {
		for j, v := range kv.vals {
			if strings.TrimSpace(v) == "" {
				p.errf(join(path, kv.key)+"["+strconv.Itoa(j)+"]", "must not be empty")
			}
		}
	}
}

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:#-]{1,100}$`)

func validPolicyName(s string) bool { return policyNameRE.MatchString(s) }

// finishSecurity puts a placeholder in the middleware of every route whose
// security needs Runtime.Build, so that applying Loaded.Gateway as it is
// fails closed rather than serving a protected route unprotected.
func (p *parseState) finishSecurity(l *Loaded) {
	for i := range l.Gateway.Routes {
		if l.security.needsRuntime(i) {
			l.Gateway.Routes[i].Middleware = []func(http.Handler) http.Handler{unbuilt}
		}
	}
}

// unbuilt answers 503: the route's security settings were not built.
func unbuilt(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable,
			Detail: "this route has security settings that were not built: use config.Runtime.Build"})
	})
}
