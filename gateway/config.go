package gateway

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/route"
)

// Config is the declarative description of a gateway: its upstream services
// and the routes to them. Apply builds it as a whole or not at all. The
// config package reads it from YAML; Go programs may build it directly.
type Config struct {
	Upstreams []UpstreamSpec
	// Routes are served in a table built from them; a route's declaration
	// (spec.Route) names its Upstream, unless Handler serves it instead (e.g.
	// a composite route that fans out to several upstreams). A route's
	// policies (auth, authorize, rate_limit, concurrency) are built into
	// Middleware by package live; Apply refuses them unbuilt.
	Routes []route.Route
	// TrustedProxies are the networks whose X-Forwarded-* headers are kept.
	TrustedProxies []netip.Prefix
}

// UpstreamSpec describes one upstream service.
type UpstreamSpec struct {
	// Name is how routes refer to the upstream. Required, unique.
	Name string
	// Service is the name asked of the Resolver (default Name).
	Service string
	// Resolver finds the instances. Nil means a static list: Instances.
	Resolver discovery.Resolver
	// Instances is the static instance list when Resolver is nil.
	Instances []discovery.Instance
	// Balancer picks an instance per request (default balance.P2C{}).
	Balancer balance.Policy
	// PassiveHealth, when set, ejects instances after consecutive failures.
	PassiveHealth *health.Passive
	// ActiveHealth, when set, probes instances on an interval.
	ActiveHealth *health.Active
	// PanicThreshold, a percentage from 0 (off, the default) to 100:
	// while fewer of the instances are healthy than that, the upstream
	// balances over all of them (upstream.WithPanicThreshold).
	PanicThreshold int
	// Retry controls retries; the zero value disables them.
	Retry RetrySpec
	// TryTimeout bounds the wait for each attempt's response headers.
	TryTimeout time.Duration
	// PreserveHost sends the client's Host header upstream.
	PreserveHost bool
	// Transport carries this upstream's requests (default: the gateway's,
	// WithTransport), e.g. a grpcproxy.Transport for HTTP/2 and gRPC
	// upstreams. Reuse one value across Applies: a new one is a changed
	// spec, and the upstream is rebuilt with fresh health state.
	Transport http.RoundTripper
	// Subset keeps only instances whose metadata has all these pairs, e.g.
	// {"version": "v2"}: a canary upstream over the same service.
	Subset map[string]string
}

// RetrySpec configures retries of one upstream.
type RetrySpec struct {
	// Attempts is the most attempts per request, the first included.
	Attempts int
	// Statuses make idempotent, body-less requests retryable (default 502,
	// 503, 504).
	Statuses []int
	// BudgetRatio caps retries to this share of requests over 10 s (default
	// 0.2 when Attempts > 1); BudgetMinPerSecond is always allowed (default 10).
	BudgetRatio        float64
	BudgetMinPerSecond float64
}
