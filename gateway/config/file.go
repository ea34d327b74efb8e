package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// File is the YAML document as written, before defaults and validation.
// Parse fills it in and checks it; Loaded.Gateway is what it means. The
// yaml tags are the key names (see docs/configuration.md).
type File struct {
	// Listen is the proxy listener's host:port (default 127.0.0.1:8080).
	Listen string `yaml:"listen,omitempty"`
	// AdminListen serves /metrics, /livez and /readyz (default
	// 127.0.0.1:9090).
	AdminListen string `yaml:"admin_listen,omitempty"`
	// DrainPeriod keeps serving after readiness fails on shutdown (default
	// 5s).
	DrainPeriod Duration `yaml:"drain_period,omitempty"`
	// ShutdownTimeout bounds the wait for in-flight requests (default 30s).
	ShutdownTimeout Duration `yaml:"shutdown_timeout,omitempty"`
	// TrustedProxies are CIDRs or single IPs whose X-Forwarded-* headers
	// are kept.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty"`
	// Consul is how to reach Consul for upstreams with discovery: consul.
	// Omitted fields come from the standard environment (CONSUL_HTTP_ADDR,
	// CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, CONSUL_CACERT, ...).
	Consul *ConsulAgent `yaml:"consul,omitempty"`
	// Upstreams by name. The gateway gets them in file order.
	Upstreams map[string]Upstream `yaml:"upstreams,omitempty"`
	// Routes in file order.
	Routes []Route `yaml:"routes,omitempty"`
	// TLS serves the proxy listener over TLS (and asks for client
	// certificates for auth method mtls).
	TLS *TLS `yaml:"tls,omitempty"`
	// Limits bound what clients may send (headers, bodies, slowness).
	Limits *Limits `yaml:"limits,omitempty"`
	// Auth configures authentication: JWT issuers, API keys, consumers
	// file, identity headers sent upstream.
	Auth *Auth `yaml:"auth,omitempty"`
	// Consumers are the callers known to the gateway (or see
	// auth.consumers_file).
	Consumers []consumer.Consumer `yaml:"consumers,omitempty"`
	// RateLimit holds settings shared by the routes' rate limits.
	RateLimit *RateLimitSettings `yaml:"rate_limit,omitempty"`
}

// Upstream is one entry of the upstreams mapping; its key is the name.
type Upstream struct {
	// Service is the name asked of the resolver (default: the upstream's
	// name).
	Service string `yaml:"service,omitempty"`
	// Discovery is where instances come from: "static" (the default, the
	// Instances list), "consul" or "kubernetes" (EndpointSlices of the
	// Service named by service, "name" or "namespace/name").
	Discovery string `yaml:"discovery,omitempty"`
	// Instances is the static instance list.
	Instances []Instance `yaml:"instances,omitempty"`
	// Consul narrows the Consul query of discovery: consul.
	Consul *ConsulQuery `yaml:"consul,omitempty"`
	// Kubernetes selects the namespace and port of discovery: kubernetes.
	Kubernetes *KubernetesQuery `yaml:"kubernetes,omitempty"`
	// Subset keeps only instances whose metadata has all these pairs.
	Subset map[string]string `yaml:"subset,omitempty"`
	// Balancer is round_robin, weighted, p2c (the default) or hash.
	Balancer string `yaml:"balancer,omitempty"`
	// Hash is the key of balancer: hash (required with it, refused
	// otherwise).
	Hash *Hash `yaml:"hash,omitempty"`
	// PassiveHealth enables outlier ejection; nil disables it, an empty
	// mapping uses the defaults.
	PassiveHealth *PassiveHealth `yaml:"passive_health,omitempty"`
	// ActiveHealth enables health probes; nil disables them, an empty
	// mapping uses the defaults.
	ActiveHealth *ActiveHealth `yaml:"active_health,omitempty"`
	// Retry configures retries (none by default).
	Retry Retry `yaml:"retry,omitempty"`
	// TryTimeout bounds the wait for each attempt's response headers (0:
	// no bound).
	TryTimeout Duration `yaml:"try_timeout,omitempty"`
	// PreserveHost sends the client's Host header upstream.
	PreserveHost bool `yaml:"preserve_host,omitempty"`
}

// Instance is one static instance: either a "host:port" string or a
// mapping with at least addr.
type Instance struct {
	Addr   string            `yaml:"addr"`
	ID     string            `yaml:"id,omitempty"`
	Scheme string            `yaml:"scheme,omitempty"`
	Weight int               `yaml:"weight,omitempty"`
	Meta   map[string]string `yaml:"meta,omitempty"`
	Tags   []string          `yaml:"tags,omitempty"`
}

// instanceFields is Instance without its UnmarshalYAML method, for
// decoding the mapping form.
type instanceFields Instance

// errShape is returned by UnmarshalYAML methods for a node of the wrong
// kind; the structural check has already reported it with its position.
var errShape = errors.New("wrong kind of YAML node")

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
	return errShape
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
	Header   string `yaml:"header,omitempty"`
	Cookie   string `yaml:"cookie,omitempty"`
	ClientIP bool   `yaml:"client_ip,omitempty"`
	// LoadFactor bounds an instance's load to this multiple of the average
	// (default 1.25; must be above 1).
	LoadFactor float64 `yaml:"load_factor,omitempty"`
	// Replicas is the ring points per unit of weight (default 100).
	Replicas int `yaml:"replicas,omitempty"`
}

// PassiveHealth is health.Passive in the file; zero fields take the
// package defaults.
type PassiveHealth struct {
	ConsecutiveFailures int      `yaml:"consecutive_failures,omitempty"`
	BaseEjection        Duration `yaml:"base_ejection,omitempty"`
	MaxEjection         Duration `yaml:"max_ejection,omitempty"`
	MaxEjectionPercent  int      `yaml:"max_ejection_percent,omitempty"`
}

// ActiveHealth is health.Active in the file; zero fields take the package
// defaults.
type ActiveHealth struct {
	Path               string   `yaml:"path,omitempty"`
	Interval           Duration `yaml:"interval,omitempty"`
	Timeout            Duration `yaml:"timeout,omitempty"`
	HealthyThreshold   int      `yaml:"healthy_threshold,omitempty"`
	UnhealthyThreshold int      `yaml:"unhealthy_threshold,omitempty"`
}

// Retry is gateway.RetrySpec in the file.
type Retry struct {
	Attempts           int     `yaml:"attempts,omitempty"`
	Statuses           []int   `yaml:"statuses,omitempty"`
	BudgetRatio        float64 `yaml:"budget_ratio,omitempty"`
	BudgetMinPerSecond float64 `yaml:"budget_min_per_second,omitempty"`
}

// Route is one entry of the routes list; see gateway.RouteSpec.
type Route struct {
	Name         string   `yaml:"name"`
	Hosts        []string `yaml:"hosts,omitempty"`
	Methods      []string `yaml:"methods,omitempty"`
	Path         string   `yaml:"path,omitempty"`
	PathPrefix   string   `yaml:"path_prefix,omitempty"`
	StripPrefix  string   `yaml:"strip_prefix,omitempty"`
	Rewrite      string   `yaml:"rewrite,omitempty"`
	Timeout      Duration `yaml:"timeout,omitempty"`
	MaxBodyBytes Size     `yaml:"max_body_bytes,omitempty"`
	Upstream     string   `yaml:"upstream"`
	// Variants send requests with a header value to another upstream.
	Variants []Variant `yaml:"variants,omitempty"`
	// CaseInsensitive matches the path in any ASCII case (and sends it
	// upstream in lower case).
	CaseInsensitive bool `yaml:"case_insensitive,omitempty"`
	// Auth, Authorize, RateLimit and Concurrency are the route's security:
	// see docs/security.md.
	Auth        *RouteAuth        `yaml:"auth,omitempty"`
	Authorize   *Authorize        `yaml:"authorize,omitempty"`
	RateLimit   []RateLimitPolicy `yaml:"rate_limit,omitempty"`
	Concurrency *Concurrency      `yaml:"concurrency,omitempty"`
}

// Variant sends requests whose header equals value to upstream (canary).
type Variant struct {
	Header   string `yaml:"header"`
	Value    string `yaml:"value"`
	Upstream string `yaml:"upstream"`
}

// Duration is a time.Duration written as a Go duration string ("250ms",
// "10s", "1m30s"). A bare number is refused, except 0, because its unit
// would be a guess.
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	node = unwrapTag(node)
	switch n := node.(type) {
	case *ast.NullNode:
		*d = 0
		return nil
	case *ast.StringNode:
		v, err := parseDuration(n.Value)
		if err != nil {
			return &valueError{node: node, msg: err.Error()}
		}
		*d = Duration(v)
		return nil
	case *ast.IntegerNode, *ast.FloatNode:
		text := n.GetToken().Value
		if f, err := strconv.ParseFloat(text, 64); err == nil && f == 0 {
			*d = 0
			return nil
		}
		return &valueError{node: node, msg: fmt.Sprintf("%s has no unit: write a duration such as %q", text, text+"s")}
	}
	return errShape
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// String returns the duration in Go syntax.
func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: \"250ms\", \"10s\", \"1m30s\")", s)
	}
	return v, nil
}

// Size is a byte count written as an integer or as a string with a unit:
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),
// case-insensitive, e.g. "512KiB", "10MB", "1 MiB".
type Size int64

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (s *Size) UnmarshalYAML(node ast.Node) error {
	node = unwrapTag(node)
	switch n := node.(type) {
	case *ast.NullNode:
		*s = 0
		return nil
	case *ast.IntegerNode:
		switch v := n.GetValue().(type) {
		case int64:
			*s = Size(v)
			return nil
		case uint64:
			if v <= math.MaxInt64 {
				*s = Size(v)
				return nil
			}
		}
		return &valueError{node: node, msg: fmt.Sprintf("size %s is too large", n.GetToken().Value)}
	case *ast.StringNode:
		v, err := parseSize(n.Value)
		if err != nil {
			return &valueError{node: node, msg: err.Error()}
		}
		*s = Size(v)
		return nil
	case *ast.FloatNode:
		return &valueError{node: node, msg: fmt.Sprintf("%s is not a whole number of bytes", n.GetToken().Value)}
	}
	return errShape
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%q is not a size (examples: 1048576, \"512KiB\", \"1MiB\", \"10MB\")", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// MarshalYAML writes the size as an integer.
func (s Size) MarshalYAML() (any, error) { return int64(s), nil }

// valueError is a bad scalar found while decoding, with its node.
type valueError struct {
	node ast.Node
	msg  string
}

func (e *valueError) Error() string { return e.msg }

func unwrapTag(n ast.Node) ast.Node {
	for {
		t, ok := n.(*ast.TagNode)
		if !ok || t.Value == nil {
			return n
		}
		n = t.Value
	}
}

// ConsulAgent says how to reach Consul.
type ConsulAgent struct {
	// Address is host:port or a URL of the agent's HTTP API.
	Address string `yaml:"address,omitempty"`
	// TokenFile holds the ACL token (never put the token itself in the file).
	TokenFile string `yaml:"token_file,omitempty"`
	// Datacenter is the default datacenter of queries.
	Datacenter string `yaml:"datacenter,omitempty"`
}

// ConsulQuery narrows which instances of a Consul service are used.
type ConsulQuery struct {
	Tags       []string `yaml:"tags,omitempty"`
	Datacenter string   `yaml:"datacenter,omitempty"`
	Namespace  string   `yaml:"namespace,omitempty"`
	Partition  string   `yaml:"partition,omitempty"`
	// Filter is a Consul filter expression, e.g. Service.Meta.version == "v2".
	Filter string `yaml:"filter,omitempty"`
	// PassingOnly (default true) uses passing instances only; false admits
	// warning instances too. Critical ones are never used.
	PassingOnly *bool `yaml:"passing_only,omitempty"`
}

// KubernetesQuery selects which EndpointSlices of a Service are used.
type KubernetesQuery struct {
	// Namespace of a bare service name (default "default").
	Namespace string `yaml:"namespace,omitempty"`
	// Port is the Service port's name (default: the first port).
	Port string `yaml:"port,omitempty"`
}
