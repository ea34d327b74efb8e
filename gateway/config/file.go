package config

import (
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/spec"
)

// File is the YAML document as written, before defaults and validation:
// the listener settings of the process and the gateway's state (spec.Config).
// The yaml tags are the key names (see docs/configuration.md).
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
	// The gateway's state: see the fields of spec.Config of the same keys
	// (their comments there are the keys' descriptions in the schema).

	TrustedProxies []string                 `yaml:"trusted_proxies,omitempty"`
	Consul         *spec.ConsulAgent        `yaml:"consul,omitempty"`
	Upstreams      map[string]spec.Upstream `yaml:"upstreams,omitempty"`
	Routes         []spec.Route             `yaml:"routes,omitempty"`
	// TLS serves the proxy listener over TLS (and asks for client
	// certificates for auth method mtls).
	TLS *TLS `yaml:"tls,omitempty"`
	// Limits bound what clients may send (headers, bodies, slowness).
	Limits    *Limits                 `yaml:"limits,omitempty"`
	Auth      *spec.Auth              `yaml:"auth,omitempty"`
	Consumers []consumer.Consumer     `yaml:"consumers,omitempty"`
	RateLimit *spec.RateLimitSettings `yaml:"rate_limit,omitempty"`
	CORS      *cors.Options           `yaml:"cors,omitempty"`
	// Tracing exports OpenTelemetry spans (off without it, unless the
	// OTEL_* environment names an endpoint).
	Tracing *Tracing `yaml:"tracing,omitempty"`
	// RouteShadowing is warn (default), refuse or off (spec.Config).
	RouteShadowing string `yaml:"route_shadowing,omitempty"`
	// AccessLog is the per-request log: format, fields, sampling,
	// exclusions and output. A reload applies it without a restart.
	AccessLog *accesslog.Options `yaml:"access_log,omitempty"`
}

// Spec returns the gateway's state the file declares: its mapping onto the
// model that the admin API shares.
func (f *File) Spec() spec.Config {
	c := spec.Config{
		TrustedProxies: f.TrustedProxies, Consul: f.Consul, Upstreams: f.Upstreams, Routes: f.Routes,
		Auth: f.Auth, Consumers: f.Consumers, RateLimit: f.RateLimit, RouteShadowing: f.RouteShadowing,
		CORS: f.CORS,
	}
	if f.Limits != nil {
		c.DefaultMaxBodyBytes = f.Limits.MaxBodyBytes
	}
	return c
}

// Duration and Size are the model's: a Go duration string, and a byte count
// with an optional unit.
type (
	Duration = spec.Duration
	Size     = spec.Size
)
