package spec

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/headers"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/transform"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// Limits and defaults of the model. The defaults are the values live hands
// to the capability packages, so a message's "(default X)" is what runs.
const (
	// MaxRetryAttempts is the most retry.attempts allowed.
	MaxRetryAttempts = 10
	// maxHashReplicas is the hash ring's own cap on points per endpoint.
	maxHashReplicas = 1 << 18

	DefaultHashReplicas    = 100
	DefaultHashLoadFactor  = 1.25
	DefaultRealm           = "gatescale"
	DefaultJWKSRefresh     = 15 * time.Minute
	DefaultJWKSMinRefresh  = 30 * time.Second
	DefaultLeeway          = 30 * time.Second
	DefaultRateLimitPeriod = time.Second
	DefaultRedisTimeout    = 100 * time.Millisecond
	DefaultRedisBackoff    = time.Second
)

// BalancerNames are the balancer values an upstream may name (package
// balance's policies; live maps each onto one).
var BalancerNames = []string{"round_robin", "weighted", "p2c", "hash"}

// Document tells the validation what a decoder saw beyond the values: a
// file or a JSON body knows which keys were written (a zero that was
// written is refused where omitting it means the default) and which parts
// failed to decode (already reported, not checked again). A nil Document
// means "only non-zero values were written, everything decoded".
type Document interface {
	// Present reports whether the field at path was written.
	Present(path string) bool
	// Broken reports whether path, or a part above it, failed to decode.
	Broken(path string) bool
	// Scalar reports whether path was written as a scalar (an instance as
	// "host:port" rather than a mapping).
	Scalar(path string) bool
	// Line is the line of path in a file, for messages that point at
	// another place ("already used by routes[0] (line 7)"); 0 if none.
	Line(path string) int
}

type noDocument struct{}

func (noDocument) Present(string) bool { return false }
func (noDocument) Broken(string) bool  { return false }
func (noDocument) Scalar(string) bool  { return false }
func (noDocument) Line(string) int     { return 0 }

// Option configures Validate.
type Option func(*validator)

// WithDocument gives Validate what the decoder saw (see Document).
func WithDocument(d Document) Option {
	return func(v *validator) {
		if d != nil {
			v.doc = d
		}
	}
}

// WithClientTLS says the listener verifies client certificates, which
// auth method mtls needs (a listener setting, outside the model).
func WithClientTLS(on bool) Option { return func(v *validator) { v.tls = on } }

// Validate checks c in full and returns every problem as an errors.Join of
// *FieldError (nil when c is valid). It reads no file and contacts nothing.
// Route patterns are compiled by the route table (route.Check), which
// reports its problems as *FieldError too.
func Validate(c *Config, opts ...Option) error {
	v := &validator{c: c, doc: noDocument{}, issuers: map[string]string{}, policies: map[string]policyRef{}}
	for _, opt := range opts {
		opt(v)
	}
	v.validate()
	return v.err()
}

type validator struct {
	c        *Config
	noRefs   bool // routes alone: references to upstreams are not checked
	doc      Document
	tls      bool
	errs     []*FieldError
	issuers  map[string]string // iss -> auth.jwt name
	policies map[string]policyRef
}

type policyRef struct{ path, desc string }

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return joinErrors(errs)
}

func (v *validator) errf(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) errKey(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, AtKey: true, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) present(path string) bool { return v.doc.Present(path) }

func (v *validator) validate() {
	c := v.c
	for i, s := range c.TrustedProxies {
		if _, ok := ParsePrefix(s); !ok {
			v.errf(Index("trusted_proxies", i), "%q is not a CIDR (10.0.0.0/8) or an IP address", strings.TrimSpace(s))
		}
	}
	v.auth()
	if c.Cache != nil {
		v.nested("cache", c.Cache.Validate())
	}
	if c.CORS != nil {
		v.nested("cors", c.CORS.Validate())
	}
	names := UpstreamNames(c)
	for _, name := range names {
		path := Join("upstreams", name)
		if strings.TrimSpace(name) == "" {
			v.errKey(path, "an upstream name must not be empty")
			continue
		}
		if v.doc.Broken(path) {
			continue
		}
		v.upstream(path, c.Upstreams[name])
	}
	defined := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.TrimSpace(n) == "" })
	routeNames := map[string]string{}
	for i := range c.Routes {
		path := Index("routes", i)
		if v.doc.Broken(path) {
			continue
		}
		r := &c.Routes[i]
		v.route(path, r, defined, routeNames)
		v.routeSecurity(path, r)
		v.ipAccess(Join(path, "ip_access"), r.IPAccess)
		v.processing(path, r)
	}
	switch c.RouteShadowing {
	case "", ShadowingWarn, ShadowingRefuse, ShadowingOff:
	default:
		v.errf("route_shadowing", "%q: want warn (the default), refuse or off", c.RouteShadowing)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		for j, name := range r.ShadowingAccepted {
			if first, ok := routeNames[name]; !ok || first == Index("routes", i) {
				what := "is not the name of another route"
				if ok {
					what = "is this route"
				}
				v.errf(Index(Join(Index("routes", i), "shadowing_accepted"), j), "%q %s", name, what)
			}
		}
	}
}

// processing checks a route's cors, headers, cache, transform and compress
// sections with their packages' own validation, placing each problem under
// the route.
func (v *validator) processing(path string, r *Route) {
	if r.CORS != nil {
		v.nested(Join(path, "cors"), r.CORS.Validate())
	}
	if r.Headers != nil {
		v.nested(Join(path, "headers"), r.Headers.Validate())
	}
	if r.Cache != nil {
		v.nested(Join(path, "cache"), r.Cache.Validate())
	}
	if r.Transform != nil {
		v.nested(Join(path, "transform"), r.Transform.Validate())
	}
	if r.Compress != nil {
		v.nested(Join(path, "compress"), r.Compress.Validate())
	}
}

// nested reports a capability package's field errors (Field relative to
// path) at their full path.
func (v *validator) nested(path string, err error) {
	for _, e := range Leaves(err) {
		var cf *cache.FieldError
		var tf *transform.FieldError
		var corsErr *cors.FieldError
		var hf *headers.FieldError
		switch {
		case errors.As(e, &hf) && hf.AtKey: // a header name: at its key
			v.errKey(nestedPath(path, hf.Field), "%s", hf.Message)
		case errors.As(e, &hf):
			v.errf(nestedPath(path, hf.Field), "%s", hf.Message)
		case errors.As(e, &corsErr):
			v.errf(path+"."+corsErr.Field, "%s", corsErr.Message)
		case errors.As(e, &cf):
			v.errf(path+"."+cf.Field, "%s", cf.Message)
		case errors.As(e, &tf):
			v.errf(path+"."+tf.Field, "%s", tf.Message)
		default:
			v.errf(path, "%v", e)
		}
	}
}

// nestedPath appends a package's field path (already in the path syntax,
// keys quoted where needed) to path.
func nestedPath(path, field string) string {
	if strings.HasPrefix(field, "[") {
		return path + field
	}
	return path + "." + field
}

// CheckRoutes checks routes on their own — their fields and unique names,
// not their references to upstreams or their policies' references to the
// rest of a Config — for a route table built from Go.
func CheckRoutes(routes []Route) error {
	v := &validator{c: &Config{}, doc: noDocument{}, noRefs: true}
	names := map[string]string{}
	for i := range routes {
		v.route(Index("routes", i), &routes[i], nil, names)
	}
	return v.err()
}

// UpstreamNames returns the upstream names, sorted.
func UpstreamNames(c *Config) []string {
	names := make([]string, 0, len(c.Upstreams))
	for n := range c.Upstreams {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParsePrefix reads a trusted_proxies entry: a CIDR or a single IP.
func ParsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		if pfx, err := netip.ParsePrefix(s); err == nil {
			return pfx.Masked(), true
		}
	} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func (v *validator) upstream(path string, u Upstream) {
	switch u.Discovery {
	case "", "static":
		if u.Consul != nil {
			v.errf(Join(path, "consul"), "is only for discovery: consul")
		}
		if u.Kubernetes != nil {
			v.errf(Join(path, "kubernetes"), "is only for discovery: kubernetes")
		}
		if len(u.Instances) == 0 {
			v.errf(Join(path, "instances"), "at least one instance is required (discovery: static)")
		}
	case "consul":
		if len(u.Instances) > 0 {
			v.errf(Join(path, "instances"), "are not used with discovery: consul (Consul supplies them)")
		}
		if q := u.Consul; q != nil {
			for i, tag := range q.Tags {
				if strings.TrimSpace(tag) == "" {
					v.errf(Index(Join(path, "consul.tags"), i), "must not be empty")
				}
			}
		}
	case "kubernetes":
		if len(u.Instances) > 0 {
			v.errf(Join(path, "instances"), "are not used with discovery: kubernetes (EndpointSlices supply them)")
		}
		if u.Consul != nil {
			v.errf(Join(path, "consul"), "is only for discovery: consul")
		}
	default:
		v.errf(Join(path, "discovery"), "%q is not supported (valid: static, consul, kubernetes)", u.Discovery)
	}
	if v.present(Join(path, "service")) && strings.TrimSpace(u.Service) == "" {
		v.errf(Join(path, "service"), "must not be empty (omit it to use the upstream's name)")
	}

	keys := map[string]int{}
	for j, in := range u.Instances {
		ipath := Join(path, "instances") + "[" + strconv.Itoa(j) + "]"
		inst := in.Discovery()
		v.instance(ipath, inst)
		if first, dup := keys[inst.Key()]; dup {
			what := "addr"
			if inst.ID != "" {
				what = "id"
			}
			v.errf(ipath, "%s %q is already used by instances[%d]", what, inst.Key(), first)
		} else {
			keys[inst.Key()] = j
		}
	}

	v.balancer(path, u)
	v.passive(Join(path, "passive_health"), u.PassiveHealth)
	v.active(Join(path, "active_health"), u.ActiveHealth)
	if err := upstream.CheckPanicThreshold(u.PanicThreshold); err != nil {
		v.errf(Join(path, "panic_threshold"), "%v", err)
	}
	v.protocol(path, u)
	v.retry(Join(path, "retry"), u.Retry)
	if u.TryTimeout < 0 {
		v.errf(Join(path, "try_timeout"), "must not be negative")
	}
}

func (v *validator) instance(path string, in discovery.Instance) {
	addrPath := Join(path, "addr")
	if v.doc.Scalar(path) {
		addrPath = path // the "host:port" form
	}
	if in.Addr == "" {
		v.errf(addrPath, "is required (host:port)")
	} else if err := (discovery.Instance{Addr: in.Addr}).Validate(); err != nil {
		v.errf(addrPath, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("instance %q: ", in.Addr)))
	} else if host, _, _ := net.SplitHostPort(in.Addr); !ValidHost(host) {
		v.errf(addrPath, "addr %q: %q is not a host name or IP address", in.Addr, host)
	}
	if err := (discovery.Instance{Addr: "h:1", Scheme: in.Scheme}).Validate(); err != nil {
		v.errf(Join(path, "scheme"), "%q is not http or https", in.Scheme)
	}
	if in.Weight < 0 {
		v.errf(Join(path, "weight"), "must not be negative")
	} else if in.Weight == 0 && v.present(Join(path, "weight")) {
		v.errf(Join(path, "weight"), "must be at least 1 (omit it for the default, 1)")
	}
	if v.present(Join(path, "id")) && in.ID == "" {
		v.errf(Join(path, "id"), "must not be empty (omit it to use addr)")
	}
}

func (v *validator) balancer(path string, u Upstream) {
	bpath, hpath := Join(path, "balancer"), Join(path, "hash")
	switch u.Balancer {
	case "":
		if v.present(bpath) {
			v.errf(bpath, "must not be empty (valid: round_robin, weighted, p2c, hash)")
		}
	case "hash":
		v.hash(hpath, u.Hash)
		return
	default:
		if !slices.Contains(BalancerNames, u.Balancer) {
			v.errf(bpath, "unknown balance policy %q (valid: %s)", u.Balancer, strings.Join(BalancerNames, ", "))
			return
		}
		if u.Hash != nil {
			v.errf(hpath, "is only used with balancer: hash")
		}
		return
	}
	if u.Hash != nil {
		v.errf(hpath, "is only used with balancer: hash (the default balancer is p2c)")
	}
}

func (v *validator) hash(path string, h *Hash) {
	if h == nil {
		v.errf(path, "is required with balancer: hash (one of header, cookie or client_ip: true)")
		return
	}
	var set []string
	if v.present(Join(path, "header")) || h.Header != "" {
		set = append(set, "header")
		if !httpguts.ValidHeaderFieldName(h.Header) {
			v.errf(Join(path, "header"), "%q is not a valid header name", h.Header)
		}
	}
	if v.present(Join(path, "cookie")) || h.Cookie != "" {
		set = append(set, "cookie")
		if !httpguts.ValidHeaderFieldName(h.Cookie) {
			v.errf(Join(path, "cookie"), "%q is not a valid cookie name", h.Cookie)
		}
	}
	if h.ClientIP {
		set = append(set, "client_ip")
	} else if v.present(Join(path, "client_ip")) {
		v.errf(Join(path, "client_ip"), "must be true when set")
		set = append(set, "") // reported
	}
	switch len(set) {
	case 0:
		v.errf(path, "needs one of header, cookie or client_ip: true")
	case 1:
	default:
		if slices.Contains(set, "") {
			break
		}
		v.errf(path, "has %s: set exactly one", strings.Join(set, " and "))
	}
	lf := Join(path, "load_factor")
	if math.IsNaN(h.LoadFactor) || math.IsInf(h.LoadFactor, 0) || h.LoadFactor < 0 ||
		h.LoadFactor <= 1 && (h.LoadFactor != 0 || v.present(lf)) {
		v.errf(lf, "must be a number above 1 (default %v)", DefaultHashLoadFactor)
	}
	rp := Join(path, "replicas")
	if h.Replicas < 0 || h.Replicas > maxHashReplicas || h.Replicas == 0 && v.present(rp) {
		v.errf(rp, "must be from 1 to %d (default %d)", maxHashReplicas, DefaultHashReplicas)
	}
}

func (v *validator) passive(path string, ph *PassiveHealth) {
	if ph == nil {
		return
	}
	v.positiveInt(Join(path, "consecutive_failures"), ph.ConsecutiveFailures, health.DefaultConsecutiveFailures)
	base := v.positiveDuration(Join(path, "base_ejection"), time.Duration(ph.BaseEjection), health.DefaultBaseEjection)
	maxEj := v.positiveDuration(Join(path, "max_ejection"), time.Duration(ph.MaxEjection), health.DefaultMaxEjection)
	if base > 0 && maxEj > 0 && maxEj < base {
		key := "max_ejection"
		if !v.present(Join(path, key)) {
			key = "base_ejection"
		}
		v.errf(Join(path, key), "max_ejection (%v) is shorter than base_ejection (%v)", maxEj, base)
	}
	mp := Join(path, "max_ejection_percent")
	if ph.MaxEjectionPercent < 0 || ph.MaxEjectionPercent > 100 || ph.MaxEjectionPercent == 0 && v.present(mp) {
		v.errf(mp, "must be from 1 to 100 (default %d; omit passive_health to disable ejection)", health.DefaultMaxEjectionPercent)
	}
}

// protocol checks the upstream's protocol and TLS settings and that a gRPC
// health check has HTTP/2 to travel on.
func (v *validator) protocol(path string, u Upstream) {
	pp := Join(path, "protocol")
	if (u.Protocol != "" || v.present(pp)) && !slices.Contains(UpstreamProtocols, u.Protocol) {
		v.errf(pp, "%q is not a protocol (valid: %s)", u.Protocol, strings.Join(UpstreamProtocols, ", "))
	}
	if t := u.TLS; t != nil {
		if v.present(Join(Join(path, "tls"), "ca_file")) && strings.TrimSpace(t.CAFile) == "" {
			v.errf(Join(Join(path, "tls"), "ca_file"), "must not be empty (omit it for the system's roots)")
		}
		if sn := Join(Join(path, "tls"), "server_name"); (t.ServerName != "" || v.present(sn)) && !ValidHost(t.ServerName) {
			v.errf(sn, "%q is not a host name", t.ServerName)
		}
		if u.Protocol == "h2c" {
			v.errf(Join(path, "tls"), "is not used with protocol: h2c (cleartext)")
		}
	}
	if ah := u.ActiveHealth; ah != nil && ah.GRPC != nil {
		if u.Protocol != "h2c" && u.Protocol != "h2" {
			v.errf(Join(Join(path, "active_health"), "grpc"), "needs protocol: h2c or h2 (gRPC runs on HTTP/2)")
		}
		if ah.Path != "" || v.present(Join(Join(path, "active_health"), "path")) {
			v.errf(Join(Join(path, "active_health"), "path"), "is not used with grpc (the gRPC health service is called)")
		}
	}
}

func (v *validator) active(path string, ah *ActiveHealth) {
	if ah == nil {
		return
	}
	pp := Join(path, "path")
	if ah.Path != "" || v.present(pp) {
		u, err := url.Parse(ah.Path)
		if !strings.HasPrefix(ah.Path, "/") || err != nil || u.Host != "" || strings.ContainsAny(ah.Path, " #") {
			v.errf(pp, "%q is not a path such as %q", ah.Path, health.DefaultPath)
		}
	}
	v.positiveDuration(Join(path, "interval"), time.Duration(ah.Interval), health.DefaultInterval)
	v.positiveDuration(Join(path, "timeout"), time.Duration(ah.Timeout), health.DefaultTimeout)
	v.positiveInt(Join(path, "healthy_threshold"), ah.HealthyThreshold, health.DefaultHealthyThreshold)
	v.positiveInt(Join(path, "unhealthy_threshold"), ah.UnhealthyThreshold, health.DefaultUnhealthyThreshold)
}

// positiveDuration checks a duration whose zero value means def, and
// returns its effective value (0 after an error).
func (v *validator) positiveDuration(path string, d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		v.errf(path, "must not be negative")
	case d == 0 && v.present(path):
		v.errf(path, "must be positive (omit it for the default, %v)", def)
	case d == 0:
		return def
	default:
		return d
	}
	return 0
}

// positiveInt checks an integer whose zero value means def.
func (v *validator) positiveInt(path string, n, def int) {
	if n < 0 || n == 0 && v.present(path) {
		v.errf(path, "must be at least 1 (default %d)", def)
	}
}

func (v *validator) retry(path string, r Retry) {
	if r.Attempts < 0 || r.Attempts > MaxRetryAttempts {
		v.errf(Join(path, "attempts"), "must be from 0 to %d (attempts include the first try)", MaxRetryAttempts)
	}
	for i, s := range r.Statuses {
		if s < 100 || s > 599 {
			v.errf(Join(path, "statuses")+"["+strconv.Itoa(i)+"]", "%d is not an HTTP status (100 to 599)", s)
		}
	}
	br := Join(path, "budget_ratio")
	if math.IsNaN(r.BudgetRatio) || r.BudgetRatio < 0 || r.BudgetRatio > 1 || r.BudgetRatio == 0 && v.present(br) {
		v.errf(br, "must be above 0 and at most 1 (default 0.2)")
	}
	bm := Join(path, "budget_min_per_second")
	if math.IsNaN(r.BudgetMinPerSecond) || math.IsInf(r.BudgetMinPerSecond, 0) || r.BudgetMinPerSecond < 0 ||
		r.BudgetMinPerSecond == 0 && v.present(bm) {
		v.errf(bm, "must be a number above 0 (default 10)")
	}
}

// knownMethods are the methods route tables accept.
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

func (v *validator) route(path string, r *Route, upstreams []string, names map[string]string) {
	np := Join(path, "name")
	switch first, dup := names[r.Name]; {
	case strings.TrimSpace(r.Name) == "":
		v.errf(np, "is required")
	case strings.HasPrefix(r.Name, "(") && strings.HasSuffix(r.Name, ")"):
		// The route label of requests no route serves, or of a removed
		// route's late ones: a route of that name would share their series.
		v.errf(np, "%q is reserved: a name in parentheses is a label of the gateway's own series ((refused), (removed))", r.Name)
	case dup:
		msg := fmt.Sprintf("%q is already used by %s", r.Name, first)
		if line := v.doc.Line(Join(first, "name")); line > 0 {
			msg += fmt.Sprintf(" (line %d)", line)
		}
		v.errf(np, "%s", msg)
	default:
		names[r.Name] = path
	}

	seenHosts := map[string]int{}
	for i, h := range r.Hosts {
		hp := Join(path, "hosts") + "[" + strconv.Itoa(i) + "]"
		if msg := hostProblem(h); msg != "" {
			v.errf(hp, "%q %s", h, msg)
		}
		if j, dup := seenHosts[strings.ToLower(h)]; dup {
			v.errf(hp, "%q is already listed (hosts[%d])", h, j)
		}
		seenHosts[strings.ToLower(h)] = i
	}
	seenMethods := map[string]int{}
	for i, m := range r.Methods {
		mp := Join(path, "methods") + "[" + strconv.Itoa(i) + "]"
		up := strings.ToUpper(strings.TrimSpace(m))
		if !slices.Contains(knownMethods, up) {
			v.errf(mp, "%q is not a supported method (valid: %s)", m, strings.Join(knownMethods, ", "))
		}
		if j, dup := seenMethods[up]; dup {
			v.errf(mp, "%s is already listed (methods[%d])", up, j)
		}
		seenMethods[up] = i
	}

	pp, ppp := Join(path, "path"), Join(path, "path_prefix")
	switch {
	case r.Path == "" && r.PathPrefix == "":
		v.errf(path, "one of path and path_prefix is required")
	case r.Path != "" && r.PathPrefix != "":
		v.errf(ppp, "path and path_prefix are exclusive: set one")
	case r.Path != "" && !strings.HasPrefix(r.Path, "/"):
		v.errf(pp, "%q must begin with /", r.Path)
	case r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/"):
		v.errf(ppp, "%q must begin with /", r.PathPrefix)
	}
	if r.StripPrefix != "" && !strings.HasPrefix(r.StripPrefix, "/") {
		v.errf(Join(path, "strip_prefix"), "%q must begin with /", r.StripPrefix)
	}
	if r.Rewrite != "" && !strings.HasPrefix(r.Rewrite, "/") {
		v.errf(Join(path, "rewrite"), "%q must begin with /", r.Rewrite)
	}
	if r.StripPrefix != "" && r.Rewrite != "" {
		v.errf(Join(path, "strip_prefix"), "strip_prefix and rewrite are exclusive (rewrite replaces the whole path)")
	}
	if r.Timeout < 0 {
		v.errf(Join(path, "timeout"), "must not be negative")
	}
	if r.MaxBodyBytes < 0 {
		v.errf(Join(path, "max_body_bytes"), "must not be negative")
	}
	v.lifecycle(Join(path, "lifecycle"), r.Lifecycle)
	up := Join(path, "upstream")
	if r.Composite != nil {
		if r.Upstream != "" {
			v.errf(up, "a composite route calls its upstreams per call: remove upstream")
		}
		if len(r.Variants) > 0 {
			v.errf(Join(path, "variants"), "are not used by a composite route")
		}
		if r.Mirror != nil {
			v.errf(Join(path, "mirror"), "is not supported on a composite route (its calls go to several upstreams): mirror the routes of those upstreams instead")
		}
		refs := upstreams
		if v.noRefs {
			refs = nil
		}
		for _, fe := range r.Composite.Validate(r.Path+r.PathPrefix, refs) {
			v.errf(Join(path, "composite")+"."+fe.Field, "%s", fe.Message)
		}
		return
	}
	switch {
	case v.noRefs:
	case r.Upstream == "":
		v.errf(up, "is required (%s)", definedList(upstreams))
	case !slices.Contains(upstreams, r.Upstream):
		v.errf(up, "%q is not defined (%s)", r.Upstream, definedList(upstreams))
	}
	weights := 0
	for i, vr := range r.Variants {
		vp := Join(path, "variants") + "[" + strconv.Itoa(i) + "]"
		switch {
		case vr.Header != "" && vr.Weight != 0:
			v.errf(Join(vp, "weight"), "a variant is chosen by header or by weight, not both")
		case vr.Header == "" && vr.Weight == 0:
			v.errf(vp, "needs a header (and value) or a weight (percent of requests)")
		case vr.Weight < 0 || vr.Weight > 100:
			v.errf(Join(vp, "weight"), "%d is not a percentage (1-100)", vr.Weight)
		case vr.Weight > 0:
			weights += vr.Weight
			if weights > 100 {
				v.errf(Join(vp, "weight"), "the variants' weights add up to %d%%, more than 100%%", weights)
			}
		case !httpguts.ValidHeaderFieldName(vr.Header):
			v.errf(Join(vp, "header"), "%q is not a valid header name", vr.Header)
		case vr.Value == "":
			// Every request without the header has it equal to "": all of
			// them would go to the variant.
			v.errf(Join(vp, "value"), "is required with header %q: the requests whose header equals it go to the variant", vr.Header)
		}
		if !v.noRefs && !slices.Contains(upstreams, vr.Upstream) {
			v.errf(Join(vp, "upstream"), "%q is not defined (%s)", vr.Upstream, definedList(upstreams))
		}
	}
	v.mirror(Join(path, "mirror"), r, upstreams)
}

// mirror checks a route's mirror with package mirror's own validation,
// and its upstream against the defined ones and the route's own.
func (v *validator) mirror(path string, r *Route, upstreams []string) {
	m := r.Mirror
	if m == nil {
		return
	}
	for _, fe := range m.Validate() {
		v.errf(Join(path, fe.Field), "%s", fe.Message)
	}
	up := Join(path, "upstream")
	switch {
	case m.Upstream == "":
	case m.Upstream == r.Upstream:
		v.errf(up, "%q is the route's own upstream: a mirror is another upstream (the version under test)", m.Upstream)
	case slices.ContainsFunc(r.Variants, func(vr Variant) bool { return vr.Upstream == m.Upstream }):
		// It serves some of the route's requests: those would reach it twice.
		i := slices.IndexFunc(r.Variants, func(vr Variant) bool { return vr.Upstream == m.Upstream })
		v.errf(up, "%q is the upstream of the route's variants[%d]: a mirror is another upstream (the version under test)", m.Upstream, i)
	case !v.noRefs && !slices.Contains(upstreams, m.Upstream):
		v.errf(up, "%q is not defined (%s)", m.Upstream, definedList(upstreams))
	}
}

func definedList(names []string) string {
	const show = 10
	switch {
	case len(names) == 0:
		return "no upstreams are defined"
	case len(names) > show:
		return fmt.Sprintf("defined: %s and %d more", strings.Join(names[:show], ", "), len(names)-show)
	}
	return "defined: " + strings.Join(names, ", ")
}

// hostProblem says what is wrong with a route host, or "".
func hostProblem(h string) string {
	if h == "" {
		return "is empty"
	}
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return "is not a host name or *.suffix"
	}
	if ValidHost(name) {
		return ""
	}
	if host, port, err := net.SplitHostPort(name); err == nil && ValidHost(host) && port != "" {
		return "must not include a port (the port of the Host header is ignored)"
	}
	return "is not a host name or *.suffix"
}

// ValidHost reports whether h is an IP address or a DNS name (letters,
// digits, '-' and '_' in dot-separated labels, an optional final dot).
func ValidHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// security validates the top-level security sections.
// auth validates the top-level security sections.
func (v *validator) auth() {
	c := v.c
	a := c.Auth
	if a == nil {
		a = &Auth{}
	}
	if a.Realm != "" {
		if strings.ContainsAny(a.Realm, "\"\\") || !validHeaderValue(a.Realm) {
			v.errf("auth.realm", "%q must not contain quotes, backslashes or control characters", a.Realm)
		}
	}
	switch {
	case a.ConsumersFile != "" && len(c.Consumers) > 0:
		v.errf("auth.consumers_file", "consumers_file and a top-level consumers list are exclusive: use one")
	case a.ConsumersFile != "":
	case v.present("auth.consumers_file"):
		v.errf("auth.consumers_file", "must not be empty")
	}
	for i, cs := range c.Consumers {
		for j, l := range cs.RateLimit {
			lp := Index(Join(Index("consumers", i), "rate_limit"), j)
			if l.Store == "redis" && (c.RateLimit == nil || c.RateLimit.Redis == nil) {
				v.errf(Join(lp, "store"), "store redis needs rate_limit.redis at the top level")
			}
		}
	}
	if len(c.Consumers) > 0 && !v.doc.Broken("consumers") {
		if err := consumer.Validate(c.Consumers); err != nil {
			for _, e := range Leaves(err) {
				path, msg, ok := strings.Cut(e.Error(), ": ")
				if !ok {
					path, msg = "consumers", e.Error()
				}
				v.errf(path, "%s", msg)
			}
		}
	}
	if k := a.APIKey; k != nil {
		if k.Header != "" && !httpguts.ValidHeaderFieldName(k.Header) {
			v.errf("auth.api_key.header", "%q is not a valid header name", k.Header)
		}
		if v.present("auth.api_key.query") && strings.TrimSpace(k.Query) == "" {
			v.errf("auth.api_key.query", "must not be empty (omit it to accept keys only in the header)")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.JWT)) {
		v.issuer(Join("auth.jwt", name), name, a.JWT[name])
	}
	if fw := a.Forward; fw != nil {
		seen := map[string]string{}
		for _, kv := range [][2]string{{"consumer_id", fw.ConsumerID}, {"method", fw.Method}, {"credential", fw.Credential},
			{"scopes", fw.Scopes}, {"roles", fw.Roles}, {"groups", fw.Groups}} {
			path := Join("auth.forward", kv[0])
			h := kv[1]
			if h == "" {
				if v.present(path) {
					v.errf(path, "must not be empty (omit it to send nothing)")
				}
				continue
			}
			canon := http.CanonicalHeaderKey(strings.ReplaceAll(h, "_", "-"))
			switch {
			case !httpguts.ValidHeaderFieldName(h):
				v.errf(path, "%q is not a valid header name", h)
			case reservedHeader(canon):
				v.errf(path, "%q is a header the gateway or HTTP itself manages: choose another name", h)
			case seen[canon] != "":
				v.errf(path, "%q is already used by %s", h, seen[canon])
			}
			seen[canon] = kv[0]
		}
	}

	if rl := c.RateLimit; rl != nil && rl.Redis != nil {
		r := rl.Redis
		base := "rate_limit.redis"
		if r.Addr == "" {
			v.errf(Join(base, "addr"), "is required (host:port)")
		} else if host, port, err := net.SplitHostPort(r.Addr); err != nil || host == "" || !ValidHost(host) || !validPort(port) {
			v.errf(Join(base, "addr"), "%q is not host:port", r.Addr)
		}
		if r.DB < 0 {
			v.errf(Join(base, "db"), "must not be negative")
		}
		if r.PasswordEnv != "" && !envName.MatchString(r.PasswordEnv) {
			v.errf(Join(base, "password_env"), "%q is not an environment variable name", r.PasswordEnv)
		}
		v.positiveDuration(Join(base, "timeout"), time.Duration(r.Timeout), DefaultRedisTimeout)
		v.positiveDuration(Join(base, "backoff"), time.Duration(r.Backoff), DefaultRedisBackoff)
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

var supportedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}

func (v *validator) issuer(path, name string, is JWTIssuer) {
	if v.doc.Broken(path) {
		return
	}
	nerr := len(v.errs)
	if is.Issuer == "" {
		v.errf(Join(path, "issuer"), "is required (the exact iss of the tokens)")
	}
	if other, ok := v.issuers[is.Issuer]; ok && is.Issuer != "" {
		v.errf(Join(path, "issuer"), "%q is already the issuer of auth.jwt.%s", is.Issuer, other)
	}
	if len(is.Audiences) == 0 {
		v.errf(Join(path, "audiences"), "at least one audience is required: without it a token minted for any other service of the issuer would be accepted")
	}
	for i, a := range is.Audiences {
		if strings.TrimSpace(a) == "" {
			v.errf(Join(path, "audiences")+"["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	hmac, public := false, false
	if len(is.Algorithms) == 0 {
		v.errf(Join(path, "algorithms"), "is required: the algorithms this issuer signs with (e.g. [RS256])")
	}
	for i, alg := range is.Algorithms {
		ap := Join(path, "algorithms") + "[" + strconv.Itoa(i) + "]"
		switch {
		case strings.EqualFold(alg, "none"):
			v.errf(ap, "none is never accepted: unsigned tokens prove nothing")
		case !slices.Contains(supportedAlgorithms, alg):
			v.errf(ap, "%q is not supported (%s)", alg, strings.Join(supportedAlgorithms, ", "))
		case strings.HasPrefix(alg, "HS"):
			hmac = true
		default:
			public = true
		}
	}
	if hmac && public {
		v.errf(Join(path, "algorithms"), "HMAC (HS*) and public-key algorithms must not be mixed in one issuer: a token could then be verified with a public key used as an HMAC secret")
	}
	var sources []string
	for _, kv := range [][2]string{{"jwks_url", is.JWKSURL}, {"keys_file", is.KeysFile}, {"secret_file", is.SecretFile}, {"secret_env", is.SecretEnv}} {
		if kv[1] != "" || v.present(Join(path, kv[0])) {
			sources = append(sources, kv[0])
		}
	}
	switch {
	case len(sources) == 0:
		v.errf(path, "needs one key source: jwks_url, keys_file, secret_file or secret_env")
	case len(sources) > 1:
		v.errf(Join(path, sources[1]), "has %s: set exactly one key source", strings.Join(sources, " and "))
	case hmac && (is.JWKSURL != "" || is.KeysFile != ""):
		v.errf(Join(path, sources[0]), "HS* algorithms need a secret (secret_file or secret_env), not public keys")
	case public && (is.SecretFile != "" || is.SecretEnv != ""):
		v.errf(Join(path, sources[0]), "public-key algorithms need jwks_url or keys_file, not a secret")
	}
	if is.JWKSURL != "" {
		u, err := url.Parse(is.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.errf(Join(path, "jwks_url"), "%q is not an http(s) URL", is.JWKSURL)
		}
	} else {
		for _, k := range []string{"jwks_refresh", "jwks_min_refresh"} {
			if v.present(Join(path, k)) {
				v.errf(Join(path, k), "is only used with jwks_url")
			}
		}
	}
	v.positiveDuration(Join(path, "jwks_refresh"), time.Duration(is.JWKSRefresh), DefaultJWKSRefresh)
	v.positiveDuration(Join(path, "jwks_min_refresh"), time.Duration(is.JWKSMinRefresh), DefaultJWKSMinRefresh)
	if is.SecretEnv != "" && !envName.MatchString(is.SecretEnv) {
		v.errf(Join(path, "secret_env"), "%q is not an environment variable name", is.SecretEnv)
	}
	if lw := orZero(is.Leeway); lw < 0 || lw > 5*time.Minute {
		v.errf(Join(path, "leeway"), "must be from 0 to 5m (default %v)", DefaultLeeway)
	}
	if is.RequireConsumer && len(v.c.Consumers) == 0 && (v.c.Auth == nil || v.c.Auth.ConsumersFile == "") {
		v.errf(Join(path, "require_consumer"), "needs consumers (a consumers list or auth.consumers_file)")
	}
	if len(v.errs) == nerr {
		v.issuers[is.Issuer] = name
	}
}

var authMethods = []string{consumer.MethodJWT, consumer.MethodAPIKey, consumer.MethodMTLS}

// routeSecurity validates a route's auth, authorize, rate_limit,
// concurrency and case_insensitive and records its plan.
func (v *validator) routeSecurity(path string, r *Route) {
	if r.Auth == nil && r.Authorize == nil && len(r.RateLimit) == 0 && r.Concurrency == nil {
		return
	}
	hasConsumers := len(v.c.Consumers) > 0 || v.c.Auth != nil && v.c.Auth.ConsumersFile != ""
	tls := v.tls

	if a := r.Auth; a != nil {
		ap := Join(path, "auth")
		if len(a.Methods) == 0 {
			v.errf(Join(ap, "methods"), "at least one method is required (%s)", strings.Join(authMethods, ", "))
		}
		seen := map[string]int{}
		for j, m := range a.Methods {
			mp := Join(ap, "methods") + "[" + strconv.Itoa(j) + "]"
			if k, dup := seen[m]; dup {
				v.errf(mp, "%s is already listed (methods[%d])", m, k)
			}
			seen[m] = j
			switch m {
			case consumer.MethodJWT:
				if v.c.Auth == nil || len(v.c.Auth.JWT) == 0 {
					v.errf(mp, "jwt needs issuers under auth.jwt")
				}
			case consumer.MethodAPIKey:
				if !hasConsumers {
					v.errf(mp, "api_key needs consumers (a consumers list or auth.consumers_file)")
				}
			case consumer.MethodMTLS:
				if !tls {
					v.errf(mp, "mtls needs tls with client_ca_file")
				}
				if !hasConsumers {
					v.errf(mp, "mtls needs consumers (a consumers list or auth.consumers_file)")
				}
			default:
				v.errf(mp, "%q is not an authentication method (%s)", m, strings.Join(authMethods, ", "))
			}
		}
		if len(a.Issuers) > 0 && !slices.Contains(a.Methods, consumer.MethodJWT) {
			v.errf(Join(ap, "issuers"), "is only used with method jwt")
		}
		for j, is := range a.Issuers {
			if v.c.Auth == nil || !hasKey(v.c.Auth.JWT, is) {
				defined := "none are defined"
				if v.c.Auth != nil && len(v.c.Auth.JWT) > 0 {
					defined = "defined: " + strings.Join(slices.Sorted(maps.Keys(v.c.Auth.JWT)), ", ")
				}
				v.errf(Join(ap, "issuers")+"["+strconv.Itoa(j)+"]", "%q is not an issuer under auth.jwt (%s)", is, defined)
			}
		}
	}

	if az := r.Authorize; az != nil {
		azp := Join(path, "authorize")
		if r.Auth == nil {
			v.errf(azp, "authorize needs auth on the route: without it every caller is anonymous")
		}
		v.authzRule(azp, az.Rule())
		anonymous := az.Anonymous
		seen := map[string]bool{}
		for _, m := range slices.Sorted(maps.Keys(az.Methods)) {
			rule := az.Methods[m]
			mp := Join(Join(azp, "methods"), m)
			up := strings.ToUpper(m)
			if up != "*" && !slices.Contains(knownMethods, up) {
				v.errKey(mp, "%q is not a method (%s) or *", m, strings.Join(knownMethods, ", "))
				continue
			}
			if seen[up] {
				v.errKey(mp, "%s is listed twice", up)
			}
			seen[up] = true
			v.authzRule(mp, rule)
			anonymous = anonymous || rule.Anonymous
		}
		if anonymous && r.Auth != nil && !r.Auth.Anonymous {
			v.errf(Join(Join(path, "auth"), "anonymous"), "authorize admits anonymous callers, but auth refuses them: set auth.anonymous: true")
		}
	}

	names := map[string]int{}
	for j, rp := range r.RateLimit {
		pp := Index(Join(path, "rate_limit"), j)
		pl := r.limitPlan(j)
		if rp.Name != "" && !validPolicyName(pl.Name) {
			v.errf(Join(pp, "name"), "%q must be letters, digits, and - _ . : # only", pl.Name)
		}
		if k, dup := names[pl.Name]; dup {
			v.errf(Join(pp, "name"), "%q is already the name of rate_limit[%d]", pl.Name, k)
		}
		names[pl.Name] = j
		if rp.Rate < 1 {
			v.errf(Join(pp, "rate"), "must be at least 1 (requests per `per`)")
		}
		if per := time.Duration(rp.Per); (per != 0 || v.present(Join(pp, "per"))) && (per < time.Second || per%time.Second != 0) {
			v.errf(Join(pp, "per"), "must be a whole number of seconds, at least 1s (default 1s)")
		}
		if rp.Burst < 0 || rp.Burst == 0 && v.present(Join(pp, "burst")) {
			v.errf(Join(pp, "burst"), "must be at least 1 (default: rate)")
		}
		if rp.Rate >= 1 && rp.Burst >= 0 && pl.Per >= time.Second {
			// What the limiter itself refuses (a rate finer than its
			// clock, a burst deeper than a Duration) is refused here, not
			// when the route is built.
			if err := (ratelimit.Limit{Rate: rp.Rate, Period: pl.Per, Burst: rp.Burst}).Validate(); err != nil {
				v.errf(pp, "%v", err)
			}
		}
		switch {
		case pl.Key == "route" || pl.Key == "ip":
		case pl.Key == "consumer" || pl.Key == "api_key":
			if r.Auth == nil {
				v.errf(Join(pp, "key"), "key %s needs auth on the route", pl.Key)
			}
		case strings.HasPrefix(pl.Key, "header:") && httpguts.ValidHeaderFieldName(strings.TrimPrefix(pl.Key, "header:")):
		default:
			v.errf(Join(pp, "key"), "%q is not route, ip, consumer, api_key or header:NAME", rp.Key)
		}
		switch rp.Store {
		case "", "local":
		case "redis":
			if v.c.RateLimit == nil || v.c.RateLimit.Redis == nil {
				v.errf(Join(pp, "store"), "store redis needs rate_limit.redis at the top level")
			}
		default:
			v.errf(Join(pp, "store"), "%q is not local or redis", rp.Store)
		}
		switch rp.FailureMode {
		case "", "open", "closed":
			if rp.FailureMode != "" && !pl.Redis {
				v.errf(Join(pp, "failure_mode"), "is only used with store: redis")
			}
		default:
			v.errf(Join(pp, "failure_mode"), "%q is not open or closed", rp.FailureMode)
		}
		desc := fmt.Sprintf("%d per %v burst %d key %s redis %v", rp.Rate, pl.Per, rp.Burst, pl.Key, pl.Redis)
		if ref, ok := v.policies[pl.Name]; ok && ref.desc != desc {
			v.errf(pp, "policy %q is also defined at %s with other settings: policies of one name share buckets, so their settings must match", pl.Name, ref.path)
		} else if !ok {
			v.policies[pl.Name] = policyRef{path: pp, desc: desc}
		}
	}

	if c := r.Concurrency; c != nil {
		cp := Join(path, "concurrency")
		if c.Max < 1 {
			v.errf(Join(cp, "max"), "must be at least 1")
		}
		switch c.Key {
		case "", "route", "ip":
		case "consumer":
			if r.Auth == nil {
				v.errf(Join(cp, "key"), "key consumer needs auth on the route")
			}
		default:
			v.errf(Join(cp, "key"), "%q is not route, ip or consumer", c.Key)
		}
	}
}

// ipAccess validates a route's ip_access with package ipaccess's own
// parser, placing its error at the entry.
func (v *validator) ipAccess(path string, l *ipaccess.Lists) {
	if l == nil {
		return
	}
	if len(l.Allow) == 0 && len(l.Deny) == 0 {
		v.errf(path, "needs allow or deny (an empty ip_access admits everyone; remove it)")
		return
	}
	// Every wrong entry, not the first only: ParseRule's parser, entry
	// by entry.
	for _, list := range []struct {
		name    string
		entries []string
	}{{"allow", l.Allow}, {"deny", l.Deny}} {
		for i, e := range list.entries {
			if _, err := ipaccess.ParsePrefix(e); err != nil {
				v.errf(Index(Join(path, list.name), i), "%v", err)
			}
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func (v *validator) authzRule(path string, r AuthzRule) {
	if r.Anonymous && len(r.Scopes)+len(r.Roles)+len(r.Groups)+len(r.Consumers) > 0 {
		v.errf(Join(path, "anonymous"), "anonymous admits everyone: it cannot be combined with scopes, roles, groups or consumers")
	}
	for _, kv := range []struct {
		key  string
		vals []string
	}{{"scopes", r.Scopes}, {"roles", r.Roles}, {"groups", r.Groups}, {"consumers", r.Consumers}} {
		for j, val := range kv.vals {
			if strings.TrimSpace(val) == "" {
				v.errf(Join(path, kv.key)+"["+strconv.Itoa(j)+"]", "must not be empty")
			}
		}
	}
}

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:#-]{1,100}$`)

func validPolicyName(s string) bool { return policyNameRE.MatchString(s) }

func orZero(d *Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}
