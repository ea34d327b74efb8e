package spec

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/headers"
	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/mirror"
	"github.com/gatescale/gatescale/gateway/transform"
	"github.com/gatescale/gatescale/gateway/units"
)

// Config is the declarative state of a gateway: what the YAML file holds
// besides its listener settings, and what the admin API manages.
type Config struct {
	// TrustedProxies are CIDRs or single IPs whose X-Forwarded-* headers
	// are kept.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty" json:"trusted_proxies,omitempty"`
	// Consul is how to reach Consul for upstreams with discovery: consul.
	// Omitted fields come from the standard environment (CONSUL_HTTP_ADDR,
	// CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, CONSUL_CACERT, ...).
	Consul *ConsulAgent `yaml:"consul,omitempty" json:"consul,omitempty"`
	// Upstreams by name.
	Upstreams map[string]Upstream `yaml:"upstreams,omitempty" json:"upstreams,omitempty"`
	// Routes in order.
	Routes []Route `yaml:"routes,omitempty" json:"routes,omitempty"`
	// Auth configures authentication: JWT issuers, API keys, consumers
	// file, identity headers sent upstream.
	Auth *Auth `yaml:"auth,omitempty" json:"auth,omitempty"`
	// Consumers are the callers known to the gateway (or see
	// auth.consumers_file).
	Consumers []consumer.Consumer `yaml:"consumers,omitempty" json:"consumers,omitempty"`
	// RateLimit holds settings shared by the routes' rate limits.
	RateLimit *RateLimitSettings `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Cache is the response cache's store (its byte budget), shared by the
	// routes with a cache policy.
	Cache *cache.StoreOptions `yaml:"cache,omitempty" json:"cache,omitempty"`
	// CORS is the CORS policy of every route without its own cors
	// (package cors).
	CORS *cors.Options `yaml:"cors,omitempty" json:"cors,omitempty"`
	// RouteShadowing is what a route shadowing finding (package shadow)
	// does to the configuration: warn (the default) logs it and reports it
	// in the reload status and `gatescale validate`, refuse refuses the
	// configuration, off skips the check. See docs/security.md.
	RouteShadowing string `yaml:"route_shadowing,omitempty" json:"route_shadowing,omitempty"`
	// DefaultMaxBodyBytes is the body limit of routes without
	// max_body_bytes (the file's limits.max_body_bytes); 0 means none.
	DefaultMaxBodyBytes Size `yaml:"-" json:"default_max_body_bytes,omitempty"`
}

// Upstream is one upstream service; its key in Config.Upstreams is its
// name.
type Upstream struct {
	// Service is the name asked of the resolver (default: the upstream's
	// name).
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Discovery is where instances come from: "static" (the default, the
	// Instances list), "consul" or "kubernetes" (EndpointSlices of the
	// Service named by service, "name" or "namespace/name").
	Discovery string `yaml:"discovery,omitempty" json:"discovery,omitempty"`
	// Instances is the static instance list.
	Instances []Instance `yaml:"instances,omitempty" json:"instances,omitempty"`
	// Consul narrows the Consul query of discovery: consul.
	Consul *ConsulQuery `yaml:"consul,omitempty" json:"consul,omitempty"`
	// Kubernetes selects the namespace and port of discovery: kubernetes.
	Kubernetes *KubernetesQuery `yaml:"kubernetes,omitempty" json:"kubernetes,omitempty"`
	// Subset keeps only instances whose metadata has all these pairs.
	Subset map[string]string `yaml:"subset,omitempty" json:"subset,omitempty"`
	// Balancer is round_robin, weighted, p2c (the default) or hash.
	Balancer string `yaml:"balancer,omitempty" json:"balancer,omitempty"`
	// Hash is the key of balancer: hash (required with it, refused
	// otherwise).
	Hash *Hash `yaml:"hash,omitempty" json:"hash,omitempty"`
	// PassiveHealth enables outlier ejection; nil disables it, an empty
	// mapping uses the defaults.
	PassiveHealth *PassiveHealth `yaml:"passive_health,omitempty" json:"passive_health,omitempty"`
	// ActiveHealth enables health probes; nil disables them, an empty
	// mapping uses the defaults.
	ActiveHealth *ActiveHealth `yaml:"active_health,omitempty" json:"active_health,omitempty"`
	// PanicThreshold is a percentage from 0 to 100: while fewer of the
	// instances are healthy than that, the upstream balances over all of
	// them (upstream.WithPanicThreshold). 0, the default, is off.
	PanicThreshold int `yaml:"panic_threshold,omitempty" json:"panic_threshold,omitempty"`
	// Retry configures retries (none by default).
	Retry Retry `yaml:"retry,omitempty" json:"retry,omitempty"`
	// TryTimeout bounds the wait for each attempt's response headers (0:
	// no bound).
	TryTimeout Duration `yaml:"try_timeout,omitempty" json:"try_timeout,omitempty"`
	// PreserveHost sends the client's Host header upstream.
	PreserveHost bool `yaml:"preserve_host,omitempty" json:"preserve_host,omitempty"`
	// Protocol is how the gateway speaks to the instances: http1 (the
	// default), h2c (cleartext HTTP/2, what gRPC servers without TLS speak)
	// or h2 (HTTP/2 over TLS with ALPN). See docs/grpc.md.
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// TLS verifies the instances' certificates against a private CA
	// and/or another server name (https instances and protocol h2).
	TLS *UpstreamTLS `yaml:"tls,omitempty" json:"tls,omitempty"`
}

// UpstreamProtocols are the valid values of Upstream.Protocol.
var UpstreamProtocols = []string{"http1", "h2c", "h2"}

// UpstreamTLS is an upstream's TLS client settings.
type UpstreamTLS struct {
	// CAFile holds the PEM CA certificates that instances' certificates
	// must chain to (default: the system's roots).
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// ServerName is the name verified in the certificates and sent as SNI
	// (default: the instance's host).
	ServerName string `yaml:"server_name,omitempty" json:"server_name,omitempty"`
}

// Instance is one static instance: either a "host:port" string or a
// mapping with at least addr.
type Instance struct {
	Addr   string            `yaml:"addr" json:"addr"`
	ID     string            `yaml:"id,omitempty" json:"id,omitempty"`
	Scheme string            `yaml:"scheme,omitempty" json:"scheme,omitempty"`
	Weight int               `yaml:"weight,omitempty" json:"weight,omitempty"`
	Meta   map[string]string `yaml:"meta,omitempty" json:"meta,omitempty"`
	Tags   []string          `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// instanceFields is Instance without its UnmarshalYAML method, for
// decoding the mapping form.
type instanceFields Instance

// UnmarshalYAML accepts "host:port" or a mapping.
func (i *Instance) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*i = Instance{Addr: v}
		return nil
	case map[string]any:
		var f instanceFields
		if err := unmarshal(&f); err != nil {
			return err
		}
		*i = Instance(f)
		return nil
	}
	return ErrShape
}

// MarshalYAML writes an instance that has only an address as a string.
func (i Instance) MarshalYAML() (any, error) {
	if i.ID == "" && i.Scheme == "" && i.Weight == 0 && len(i.Meta) == 0 && len(i.Tags) == 0 {
		return i.Addr, nil
	}
	return instanceFields(i), nil
}

// Hash selects the request key for balancer: hash. Exactly one of Header,
// Cookie and ClientIP must be set.
type Hash struct {
	Header   string `yaml:"header,omitempty" json:"header,omitempty"`
	Cookie   string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	ClientIP bool   `yaml:"client_ip,omitempty" json:"client_ip,omitempty"`
	// LoadFactor bounds an instance's load to this multiple of the average
	// (default 1.25; must be above 1).
	LoadFactor float64 `yaml:"load_factor,omitempty" json:"load_factor,omitempty"`
	// Replicas is the ring points per unit of weight (default 100).
	Replicas int `yaml:"replicas,omitempty" json:"replicas,omitempty"`
}

// PassiveHealth is health.Passive in the file; zero fields take the
// package defaults.
type PassiveHealth struct {
	ConsecutiveFailures int      `yaml:"consecutive_failures,omitempty" json:"consecutive_failures,omitempty"`
	BaseEjection        Duration `yaml:"base_ejection,omitempty" json:"base_ejection,omitempty"`
	MaxEjection         Duration `yaml:"max_ejection,omitempty" json:"max_ejection,omitempty"`
	MaxEjectionPercent  int      `yaml:"max_ejection_percent,omitempty" json:"max_ejection_percent,omitempty"`
}

// ActiveHealth is health.Active in the file; zero fields take the package
// defaults.
type ActiveHealth struct {
	Path               string   `yaml:"path,omitempty" json:"path,omitempty"`
	Interval           Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout            Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HealthyThreshold   int      `yaml:"healthy_threshold,omitempty" json:"healthy_threshold,omitempty"`
	UnhealthyThreshold int      `yaml:"unhealthy_threshold,omitempty" json:"unhealthy_threshold,omitempty"`
	// GRPC probes with the gRPC health-checking protocol instead of a GET
	// of Path (health.GRPC); it needs protocol h2c or h2.
	GRPC *GRPCHealth `yaml:"grpc,omitempty" json:"grpc,omitempty"`
}

// GRPCHealth is health.GRPC in the file.
type GRPCHealth struct {
	// Service is the service name asked about; empty asks about the
	// server as a whole.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
}

// Retry configures retries of an upstream (none by default).
type Retry struct {
	Attempts           int     `yaml:"attempts,omitempty" json:"attempts,omitempty"`
	Statuses           []int   `yaml:"statuses,omitempty" json:"statuses,omitempty"`
	BudgetRatio        float64 `yaml:"budget_ratio,omitempty" json:"budget_ratio,omitempty"`
	BudgetMinPerSecond float64 `yaml:"budget_min_per_second,omitempty" json:"budget_min_per_second,omitempty"`
}

// Route is one route: how requests are matched, where they go, and the
// policies on the way. route.Route embeds it with the live handler.
type Route struct {
	Name         string   `yaml:"name" json:"name"`
	Hosts        []string `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	Methods      []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	Path         string   `yaml:"path,omitempty" json:"path,omitempty"`
	PathPrefix   string   `yaml:"path_prefix,omitempty" json:"path_prefix,omitempty"`
	StripPrefix  string   `yaml:"strip_prefix,omitempty" json:"strip_prefix,omitempty"`
	Rewrite      string   `yaml:"rewrite,omitempty" json:"rewrite,omitempty"`
	Timeout      Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	MaxBodyBytes Size     `yaml:"max_body_bytes,omitempty" json:"max_body_bytes,omitempty"`
	Upstream     string   `yaml:"upstream" json:"upstream"`
	// Variants send requests with a header value to another upstream.
	Variants []Variant `yaml:"variants,omitempty" json:"variants,omitempty"`
	// Mirror sends a copy of the route's requests to another upstream,
	// whose answers are discarded (package mirror).
	Mirror *mirror.Policy `yaml:"mirror,omitempty" json:"mirror,omitempty"`
	// CaseInsensitive matches the path in any ASCII case (and sends it
	// upstream in lower case).
	CaseInsensitive bool `yaml:"case_insensitive,omitempty" json:"case_insensitive,omitempty"`
	// Auth, Authorize, RateLimit and Concurrency are the route's security:
	// see docs/security.md.
	Auth        *RouteAuth        `yaml:"auth,omitempty" json:"auth,omitempty"`
	Authorize   *Authorize        `yaml:"authorize,omitempty" json:"authorize,omitempty"`
	RateLimit   []RateLimitPolicy `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	Concurrency *Concurrency      `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// IPAccess admits or refuses requests by client address (package
	// ipaccess); it is checked before authentication and limits.
	IPAccess *ipaccess.Lists `yaml:"ip_access,omitempty" json:"ip_access,omitempty"`
	// Composite serves the route by calling several upstreams and merging
	// their answers (package compose) instead of proxying to Upstream.
	Composite *compose.Composite `yaml:"composite,omitempty" json:"composite,omitempty"`
	// Cache stores answers (package cache), Transform shapes JSON answers
	// per client type and Compress compresses them (package transform).
	Cache     *cache.Policy              `yaml:"cache,omitempty" json:"cache,omitempty"`
	Transform *transform.Rules           `yaml:"transform,omitempty" json:"transform,omitempty"`
	Compress  *transform.CompressOptions `yaml:"compress,omitempty" json:"compress,omitempty"`
	// CORS answers the route's CORS preflights and marks its answers for
	// the origins it allows (package cors); default: the top-level cors
	// ({disabled: true}: none).
	CORS *cors.Options `yaml:"cors,omitempty" json:"cors,omitempty"`
	// Headers are request headers to set, add or remove before the
	// upstream and response headers before the client (package headers).
	Headers *headers.Rules `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Lifecycle is the route's API lifecycle state (default published).
	Lifecycle *Lifecycle `yaml:"lifecycle,omitempty" json:"lifecycle,omitempty"`
	// ShadowingAccepted names less-protected routes whose route shadowing
	// findings against this route were reviewed and accepted (say, the
	// upstream is case-sensitive): they are not reported.
	ShadowingAccepted []string `yaml:"shadowing_accepted,omitempty" json:"shadowing_accepted,omitempty"`
}

// Route shadowing modes (Config.RouteShadowing).
const (
	ShadowingWarn   = "warn"
	ShadowingRefuse = "refuse"
	ShadowingOff    = "off"
)

// Variant sends part of a route's requests to another upstream (a canary):
// those whose Header equals Value, or, without a header, Weight percent of
// them. Header variants are tried first, in order; the weighted ones share
// what is left, and the rest goes to the route's upstream.
type Variant struct {
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	Value  string `yaml:"value,omitempty" json:"value,omitempty"`
	// Weight is the percentage (1-100) of requests for a weighted variant.
	Weight   int    `yaml:"weight,omitempty" json:"weight,omitempty"`
	Upstream string `yaml:"upstream" json:"upstream"`
}

// Duration and Size are the model's quantities (package units): a Go
// duration string, and a byte count with an optional unit.
type (
	Duration   = units.Duration
	Size       = units.Size
	ValueError = units.ValueError
)

// ErrShape is units.ErrShape: a YAML node of the wrong kind.
var ErrShape = units.ErrShape

// UnwrapTag returns the node under YAML tags (!!str and the like).
func UnwrapTag(n ast.Node) ast.Node { return units.UnwrapTag(n) }

// ConsulAgent says how to reach Consul.
type ConsulAgent struct {
	// Address is host:port or a URL of the agent's HTTP API.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// TokenFile holds the ACL token (never put the token itself in the file).
	TokenFile string `yaml:"token_file,omitempty" json:"token_file,omitempty"`
	// Datacenter is the default datacenter of queries.
	Datacenter string `yaml:"datacenter,omitempty" json:"datacenter,omitempty"`
}

// ConsulQuery narrows which instances of a Consul service are used.
type ConsulQuery struct {
	Tags       []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Datacenter string   `yaml:"datacenter,omitempty" json:"datacenter,omitempty"`
	Namespace  string   `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Partition  string   `yaml:"partition,omitempty" json:"partition,omitempty"`
	// Filter is a Consul filter expression, e.g. Service.Meta.version == "v2".
	Filter string `yaml:"filter,omitempty" json:"filter,omitempty"`
	// PassingOnly (default true) uses passing instances only; false admits
	// warning instances too. Critical ones are never used.
	PassingOnly *bool `yaml:"passing_only,omitempty" json:"passing_only,omitempty"`
	// Stale lets any Consul server answer, not only the leader (Consul's
	// stale consistency mode): reads spread over the servers and go on
	// while there is no leader, slightly behind it.
	Stale bool `yaml:"stale,omitempty" json:"stale,omitempty"`
}

// KubernetesQuery selects which EndpointSlices of a Service are used.
type KubernetesQuery struct {
	// Namespace of a bare service name (default "default").
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Port is the Service port's name (default: the first port).
	Port string `yaml:"port,omitempty" json:"port,omitempty"`
}

// Auth is the auth section: how callers authenticate, shared by routes.
type Auth struct {
	// Realm of the WWW-Authenticate challenges (default "gatescale").
	Realm string `yaml:"realm,omitempty" json:"realm,omitempty"`
	// ConsumersFile is a consumers file (package consumer), reloaded when
	// it changes; the alternative to a top-level consumers list.
	ConsumersFile string `yaml:"consumers_file,omitempty" json:"consumers_file,omitempty"`
	// APIKey says where API keys are read.
	APIKey *APIKeyAuth `yaml:"api_key,omitempty" json:"api_key,omitempty"`
	// JWT lists the trusted token issuers by name.
	JWT map[string]JWTIssuer `yaml:"jwt,omitempty" json:"jwt,omitempty"`
	// Forward names the headers that carry the identity upstream.
	Forward *Forward `yaml:"forward,omitempty" json:"forward,omitempty"`
}

// APIKeyAuth is auth.api_key.
type APIKeyAuth struct {
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	Query  string `yaml:"query,omitempty" json:"query,omitempty"`
}

// JWTIssuer is one entry of auth.jwt; see authn.Issuer.
type JWTIssuer struct {
	Issuer     string   `yaml:"issuer" json:"issuer"`
	Audiences  []string `yaml:"audiences" json:"audiences"`
	Algorithms []string `yaml:"algorithms" json:"algorithms"`
	// Exactly one key source: a JWKS URL, a file of public keys (PEM or
	// JWK set), or an HMAC secret from a file or an environment variable.
	JWKSURL        string   `yaml:"jwks_url,omitempty" json:"jwks_url,omitempty"`
	JWKSRefresh    Duration `yaml:"jwks_refresh,omitempty" json:"jwks_refresh,omitempty"`
	JWKSMinRefresh Duration `yaml:"jwks_min_refresh,omitempty" json:"jwks_min_refresh,omitempty"`
	KeysFile       string   `yaml:"keys_file,omitempty" json:"keys_file,omitempty"`
	SecretFile     string   `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
	SecretEnv      string   `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	// Leeway is the clock skew allowed (default 30s; 0 when written as 0).
	Leeway         *Duration `yaml:"leeway,omitempty" json:"leeway,omitempty"`
	SubjectClaim   string    `yaml:"subject_claim,omitempty" json:"subject_claim,omitempty"`
	ConsumerPrefix string    `yaml:"consumer_prefix,omitempty" json:"consumer_prefix,omitempty"`
	ScopesClaim    string    `yaml:"scopes_claim,omitempty" json:"scopes_claim,omitempty"`
	RolesClaim     string    `yaml:"roles_claim,omitempty" json:"roles_claim,omitempty"`
	GroupsClaim    string    `yaml:"groups_claim,omitempty" json:"groups_claim,omitempty"`
	// RequireConsumer refuses tokens whose subject is not a consumer.
	RequireConsumer bool `yaml:"require_consumer,omitempty" json:"require_consumer,omitempty"`
}

// Forward is auth.forward; see authn.ForwardHeaders.
type Forward struct {
	ConsumerID string `yaml:"consumer_id,omitempty" json:"consumer_id,omitempty"`
	Method     string `yaml:"method,omitempty" json:"method,omitempty"`
	Credential string `yaml:"credential,omitempty" json:"credential,omitempty"`
	Scopes     string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	Roles      string `yaml:"roles,omitempty" json:"roles,omitempty"`
	Groups     string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// RateLimitSettings is the top-level rate_limit section.
type RateLimitSettings struct {
	// Redis is where store: redis policies keep their buckets.
	Redis *RedisSettings `yaml:"redis,omitempty" json:"redis,omitempty"`
}

// RedisSettings is rate_limit.redis.
type RedisSettings struct {
	Addr        string   `yaml:"addr" json:"addr"`
	Username    string   `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	DB          int      `yaml:"db,omitempty" json:"db,omitempty"`
	Prefix      string   `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	Timeout     Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Backoff     Duration `yaml:"backoff,omitempty" json:"backoff,omitempty"`
}

// RouteAuth is a route's auth.
type RouteAuth struct {
	// Methods are tried in order: jwt, api_key, mtls.
	Methods []string `yaml:"methods" json:"methods"`
	// Issuers restricts jwt to these auth.jwt names (default: all).
	Issuers []string `yaml:"issuers,omitempty" json:"issuers,omitempty"`
	// Anonymous lets requests without credentials through.
	Anonymous bool `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
}

// Authorize is a route's authorize; see authz.Policy.
type Authorize struct {
	Anonymous bool                 `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
	Scopes    []string             `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	Roles     []string             `yaml:"roles,omitempty" json:"roles,omitempty"`
	Groups    []string             `yaml:"groups,omitempty" json:"groups,omitempty"`
	Consumers []string             `yaml:"consumers,omitempty" json:"consumers,omitempty"`
	Deny      []string             `yaml:"deny,omitempty" json:"deny,omitempty"`
	Methods   map[string]AuthzRule `yaml:"methods,omitempty" json:"methods,omitempty"`
}

// AuthzRule is one entry of authorize.methods.
type AuthzRule struct {
	Anonymous bool     `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
	Scopes    []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	Roles     []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	Groups    []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	Consumers []string `yaml:"consumers,omitempty" json:"consumers,omitempty"`
}

// RateLimitPolicy is one entry of a route's rate_limit list.
type RateLimitPolicy struct {
	// Name labels the policy; policies of one name share buckets (default:
	// the route's name, with "#2", "#3"... for later entries).
	Name  string   `yaml:"name,omitempty" json:"name,omitempty"`
	Rate  int      `yaml:"rate" json:"rate"`
	Per   Duration `yaml:"per,omitempty" json:"per,omitempty"`
	Burst int      `yaml:"burst,omitempty" json:"burst,omitempty"`
	// Key is route (default), ip, consumer, api_key or header:NAME.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Store is local (default) or redis.
	Store string `yaml:"store,omitempty" json:"store,omitempty"`
	// FailureMode is open (default) or closed: what to do while the store
	// is unavailable.
	FailureMode string `yaml:"failure_mode,omitempty" json:"failure_mode,omitempty"`
}

// Concurrency is a route's concurrency limit.
type Concurrency struct {
	Max int `yaml:"max" json:"max"`
	// Key is route (default), ip or consumer.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
}

// UnmarshalJSON accepts "host:port" or an object.
func (i *Instance) UnmarshalJSON(b []byte) error {
	var addr string
	if err := json.Unmarshal(b, &addr); err == nil {
		*i = Instance{Addr: addr}
		return nil
	}
	var f instanceFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*i = Instance(f)
	return nil
}

// Discovery returns the instance as discovery reports instances.
func (i Instance) Discovery() discovery.Instance {
	return discovery.Instance{ID: i.ID, Addr: i.Addr, Scheme: i.Scheme, Weight: i.Weight,
		Meta: maps.Clone(i.Meta), Tags: slices.Clone(i.Tags)}
}

// Rule returns the route-wide rule of an authorize section.
func (a *Authorize) Rule() AuthzRule {
	return AuthzRule{Anonymous: a.Anonymous, Scopes: a.Scopes, Roles: a.Roles, Groups: a.Groups, Consumers: a.Consumers}
}

// LimitPlan is a route's rate_limit entry with its defaults applied.
type LimitPlan struct {
	// Name names the buckets: the entry's name, or the route's name with
	// "#2", "#3"... for later entries.
	Name string
	Rate int
	Per  time.Duration
	// Burst is 0 for the default (rate).
	Burst int
	// Key is route, ip, consumer, api_key or header:NAME.
	Key string
	// Redis keeps the buckets in Redis; FailClosed refuses requests while
	// Redis is unavailable.
	Redis, FailClosed bool
	// AfterAuthn is set for keys that need the caller's identity; the
	// others run before authentication, protecting it from floods.
	AfterAuthn bool
}

// LimitPlans returns the route's rate limits with their defaults applied.
func (r *Route) LimitPlans() []LimitPlan {
	out := make([]LimitPlan, len(r.RateLimit))
	for j := range r.RateLimit {
		out[j] = r.limitPlan(j)
	}
	return out
}

func (r *Route) limitPlan(j int) LimitPlan {
	rp := r.RateLimit[j]
	pl := LimitPlan{Name: rp.Name, Rate: rp.Rate, Per: time.Duration(rp.Per), Burst: rp.Burst, Key: rp.Key,
		Redis: rp.Store == "redis", FailClosed: rp.FailureMode == "closed"}
	if pl.Name == "" {
		pl.Name = r.Name
		if j > 0 {
			pl.Name += "#" + strconv.Itoa(j+1)
		}
	}
	if pl.Per == 0 {
		pl.Per = DefaultRateLimitPeriod
	}
	if pl.Key == "" {
		pl.Key = "route"
	}
	pl.AfterAuthn = pl.Key == "consumer" || pl.Key == "api_key"
	return pl
}

// ConcurrencyKey returns the concurrency limit's key with its default.
func (c *Concurrency) ConcurrencyKey() string {
	if c.Key == "" {
		return "route"
	}
	return c.Key
}

// HasSecurity reports whether the route has policies that package live
// builds into middleware (gateway.Apply refuses them unbuilt).
func (r *Route) HasSecurity() bool {
	return r.Auth != nil || r.Authorize != nil || len(r.RateLimit) > 0 || r.Concurrency != nil || r.IPAccess != nil
}

// InstanceFields is Instance without its YAML and JSON methods: the shape
// of its mapping form, for a decoder's structural check.
type InstanceFields = instanceFields
