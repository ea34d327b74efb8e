package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/route"
)

// Limits enforced on top of what the gateway accepts.
const (
	// MaxRetryAttempts is the most retry.attempts allowed.
	MaxRetryAttempts = 10
	// maxHashReplicas is the hash ring's own cap on points per endpoint.
	maxHashReplicas = 1 << 18
)

// build validates the decoded file and turns it into a Loaded. It reports
// every problem it finds; the caller discards the result if there are any.
func (p *parseState) build() *Loaded {
	f := &p.file
	l := &Loaded{File: *f}

	l.Listen = p.listenAddr("listen", f.Listen, DefaultListen)
	l.AdminListen = p.listenAddr("admin_listen", f.AdminListen, DefaultAdminListen)
	if _, port, _ := net.SplitHostPort(l.Listen); l.Listen == l.AdminListen && port != "0" &&
		!p.hasStructErr("listen") && !p.hasStructErr("admin_listen") {
		key := "admin_listen"
		if !p.present(key) {
			key = "listen"
		}
		p.errf(key, "listen and admin_listen are both %s: they must differ", l.Listen)
	}
	l.DrainPeriod = p.positiveOrDefault("drain_period", time.Duration(f.DrainPeriod), DefaultDrainPeriod)
	l.ShutdownTimeout = p.positiveOrDefault("shutdown_timeout", time.Duration(f.ShutdownTimeout), DefaultShutdownTimeout)

	for i, s := range f.TrustedProxies {
		if pfx, ok := p.trustedProxy(fmt.Sprintf("trusted_proxies[%d]", i), s); ok {
			l.Gateway.TrustedProxies = append(l.Gateway.TrustedProxies, pfx)
		}
	}

	p.security(l)

	var defined []string // upstream names, in file order
	for _, name := range p.upstreamOrder {
		path := join("upstreams", name)
		if strings.TrimSpace(name) == "" {
			p.errKey(path, "an upstream name must not be empty")
			continue
		}
		defined = append(defined, name)
		if p.badUpstreams[name] {
			continue
		}
		if spec, ok := p.upstream(path, name, f.Upstreams[name]); ok {
			l.Gateway.Upstreams = append(l.Gateway.Upstreams, spec)
		}
	}

	names := map[string]string{} // route name -> its path
	var table []route.Route
	var tablePaths []string // file path of table[i]
	for i, r := range f.Routes {
		path := "routes[" + strconv.Itoa(p.routeFileIndex[i]) + "]"
		spec, ok := p.route(path, r, defined, names)
		if !ok {
			continue
		}
		l.Gateway.Routes = append(l.Gateway.Routes, spec)
		p.routeSecurity(path, r, len(l.Gateway.Routes)-1, l)
		table = append(table, route.Route{
			Name: spec.Name, Hosts: spec.Hosts, Methods: spec.Methods, Path: spec.Path,
			PathPrefix: spec.PathPrefix, StripPrefix: spec.StripPrefix, Rewrite: spec.Rewrite,
			Timeout: spec.Timeout, Upstream: spec.Upstream, Handler: http.NotFoundHandler(),
			CaseInsensitive: r.CaseInsensitive,
		})
		tablePaths = append(tablePaths, path)
	}
	// route.NewTable stops after the first stage that fails (route checks,
	// then handlers, then the trees); leaving out the routes it reported
	// and trying again finds the problems of the later stages too.
	for range 3 {
		if len(table) == 0 {
			break
		}
		_, err := route.NewTable(table)
		if err == nil {
			break
		}
		bad := p.tableErrors(err, table, tablePaths)
		if len(bad) == 0 {
			break
		}
		var keep []route.Route
		var keepPaths []string
		for i := range table {
			if !bad[i] {
				keep, keepPaths = append(keep, table[i]), append(keepPaths, tablePaths[i])
			}
		}
		table, tablePaths = keep, keepPaths
	}
	p.finishSecurity(l)
	if p.doc.ErrorCount() > 0 {
		return nil
	}
	l.doc = p.doc
	return l
}

func (p *parseState) listenAddr(key, v, def string) string {
	if p.hasStructErr(key) {
		return v
	}
	if v == "" {
		if p.present(key) {
			p.errf(key, "must not be empty (default %s)", def)
		}
		return def
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		p.errf(key, "%q is not host:port (e.g. %q or \":8080\")", v, def)
		return v
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.errf(key, "%q: port %q is not a number from 0 to 65535", v, port)
	}
	if host != "" && !validHost(host) {
		p.errf(key, "%q: %q is not a host name or IP address", v, host)
	}
	return v
}

// positiveOrDefault checks a duration whose zero value means the default.
func (p *parseState) positiveOrDefault(key string, d, def time.Duration) time.Duration {
	switch {
	case p.hasStructErr(key):
	case d < 0:
		p.errf(key, "must not be negative")
	case d == 0 && p.present(key):
		p.errf(key, "must be positive (omit it for the default, %v)", def)
	case d == 0:
		return def
	}
	return d
}

func (p *parseState) trustedProxy(path, s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err == nil {
			return pfx.Masked(), true
		}
	} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p.errf(path, "%q is not a CIDR (10.0.0.0/8) or an IP address", s)
	return netip.Prefix{}, false
}

func (p *parseState) upstream(path, name string, u Upstream) (gateway.UpstreamSpec, bool) {
	nerr := p.doc.ErrorCount()
	spec := gateway.UpstreamSpec{
		Name: name, Service: u.Service, TryTimeout: time.Duration(u.TryTimeout), PreserveHost: u.PreserveHost,
	}
	switch u.Discovery {
	case "", "static":
		if u.Consul != nil {
			p.errf(join(path, "consul"), "is only for discovery: consul")
		}
		if u.Kubernetes != nil {
			p.errf(join(path, "kubernetes"), "is only for discovery: kubernetes")
		}
		if len(u.Instances) == 0 {
			p.errf(join(path, "instances"), "at least one instance is required (discovery: static)")
		}
	case "consul":
		if len(u.Instances) > 0 {
			p.errf(join(path, "instances"), "are not used with discovery: consul (Consul supplies them)")
		}
		spec.Resolver = p.consulResolver(path, u.Consul)
	case "kubernetes":
		if len(u.Instances) > 0 {
			p.errf(join(path, "instances"), "are not used with discovery: kubernetes (EndpointSlices supply them)")
		}
		if u.Consul != nil {
			p.errf(join(path, "consul"), "is only for discovery: consul")
		}
		spec.Resolver = p.kubeResolver(path, u.Kubernetes)
	default:
		p.errf(join(path, "discovery"), "%q is not supported (valid: static, consul, kubernetes)", u.Discovery)
	}
	if p.present(join(path, "service")) && strings.TrimSpace(u.Service) == "" {
		p.errf(join(path, "service"), "must not be empty (omit it to use the upstream's name)")
	}

	keys := map[string]int{}
	for j, in := range u.Instances {
		ipath := join(path, "instances") + "[" + strconv.Itoa(j) + "]"
		inst := discovery.Instance{
			ID: in.ID, Addr: in.Addr, Scheme: in.Scheme, Weight: in.Weight,
			Meta: maps.Clone(in.Meta), Tags: slices.Clone(in.Tags),
		}
		p.instance(ipath, inst)
		if first, dup := keys[inst.Key()]; dup {
			what := "addr"
			if inst.ID != "" {
				what = "id"
			}
			p.errf(ipath, "%s %q is already used by instances[%d]", what, inst.Key(), first)
		} else {
			keys[inst.Key()] = j
		}
		spec.Instances = append(spec.Instances, inst)
	}

	if len(u.Subset) > 0 {
		spec.Subset = maps.Clone(u.Subset)
	}
	spec.Balancer = p.balancer(path, u)
	spec.PassiveHealth = p.passive(join(path, "passive_health"), u.PassiveHealth)
	spec.ActiveHealth = p.active(join(path, "active_health"), u.ActiveHealth)
	spec.Retry = p.retry(join(path, "retry"), u.Retry)
	if u.TryTimeout < 0 {
		p.errf(join(path, "try_timeout"), "must not be negative")
	}
	return spec, p.doc.ErrorCount() == nerr
}

func (p *parseState) instance(path string, in discovery.Instance) {
	addrPath := join(path, "addr")
	if p.doc.IsScalarAt(path) {
		addrPath = path // the "host:port" form
	}
	if in.Addr == "" {
		p.errf(addrPath, "is required (host:port)")
	} else if err := (discovery.Instance{Addr: in.Addr}).Validate(); err != nil {
		p.errf(addrPath, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("instance %q: ", in.Addr)))
	} else if host, _, _ := net.SplitHostPort(in.Addr); !validHost(host) {
		p.errf(addrPath, "addr %q: %q is not a host name or IP address", in.Addr, host)
	}
	if err := (discovery.Instance{Addr: "h:1", Scheme: in.Scheme}).Validate(); err != nil {
		p.errf(join(path, "scheme"), "%q is not http or https", in.Scheme)
	}
	if in.Weight < 0 {
		p.errf(join(path, "weight"), "must not be negative")
	} else if in.Weight == 0 && p.present(join(path, "weight")) {
		p.errf(join(path, "weight"), "must be at least 1 (omit it for the default, 1)")
	}
	if p.present(join(path, "id")) && in.ID == "" {
		p.errf(join(path, "id"), "must not be empty (omit it to use addr)")
	}
}

func (p *parseState) balancer(path string, u Upstream) balance.Policy {
	bpath, hpath := join(path, "balancer"), join(path, "hash")
	switch u.Balancer {
	case "":
		if p.present(bpath) {
			p.errf(bpath, "must not be empty (valid: round_robin, weighted, p2c, hash)")
		}
	case "hash":
		return p.hash(hpath, u.Hash)
	default:
		pol, err := balance.ByName(u.Balancer)
		if err != nil {
			p.errf(bpath, "%s", err)
			return nil
		}
		if u.Hash != nil {
			p.errf(hpath, "is only used with balancer: hash")
		}
		return pol
	}
	if u.Hash != nil {
		p.errf(hpath, "is only used with balancer: hash (the default balancer is p2c)")
	}
	return balance.P2C{}
}

func (p *parseState) hash(path string, h *Hash) balance.Policy {
	if h == nil {
		p.errf(path, "is required with balancer: hash (one of header, cookie or client_ip: true)")
		return nil
	}
	out := balance.Hash{LoadFactor: h.LoadFactor, Replicas: h.Replicas}
	var set []string
	if p.present(join(path, "header")) || h.Header != "" {
		set = append(set, "header")
		if !isToken(h.Header) {
			p.errf(join(path, "header"), "%q is not a valid header name", h.Header)
		}
		out.Key, out.KeyID = balance.HeaderKey(h.Header), "header:"+h.Header
	}
	if p.present(join(path, "cookie")) || h.Cookie != "" {
		set = append(set, "cookie")
		if !isToken(h.Cookie) {
			p.errf(join(path, "cookie"), "%q is not a valid cookie name", h.Cookie)
		}
		out.Key, out.KeyID = balance.CookieKey(h.Cookie), "cookie:"+h.Cookie
	}
	if h.ClientIP {
		set = append(set, "client_ip")
		out.Key, out.KeyID = balance.ClientIPKey(), "client_ip"
	} else if p.present(join(path, "client_ip")) {
		p.errf(join(path, "client_ip"), "must be true when set")
		set = append(set, "") // reported
	}
	switch len(set) {
	case 0:
		p.errf(path, "needs one of header, cookie or client_ip: true")
	case 1:
	default:
		if slices.Contains(set, "") {
			break
		}
		p.errf(path, "has %s: set exactly one", strings.Join(set, " and "))
	}
	lf := join(path, "load_factor")
	if math.IsNaN(h.LoadFactor) || math.IsInf(h.LoadFactor, 0) || h.LoadFactor < 0 ||
		h.LoadFactor <= 1 && (h.LoadFactor != 0 || p.present(lf)) {
		p.errf(lf, "must be a number above 1 (default %v)", balance.DefaultHashLoadFactor)
	}
	rp := join(path, "replicas")
	if h.Replicas < 0 || h.Replicas > maxHashReplicas || h.Replicas == 0 && p.present(rp) {
		p.errf(rp, "must be from 1 to %d (default %d)", maxHashReplicas, balance.DefaultHashReplicas)
	}
	return out
}

func (p *parseState) passive(path string, ph *PassiveHealth) *health.Passive {
	if ph == nil {
		return nil
	}
	p.positiveInt(join(path, "consecutive_failures"), ph.ConsecutiveFailures, health.DefaultConsecutiveFailures)
	base := p.positiveDuration(join(path, "base_ejection"), time.Duration(ph.BaseEjection), health.DefaultBaseEjection)
	maxEj := p.positiveDuration(join(path, "max_ejection"), time.Duration(ph.MaxEjection), health.DefaultMaxEjection)
	if base > 0 && maxEj > 0 && maxEj < base {
		key := "max_ejection"
		if !p.present(join(path, key)) {
			key = "base_ejection"
		}
		p.errf(join(path, key), "max_ejection (%v) is shorter than base_ejection (%v)", maxEj, base)
	}
	mp := join(path, "max_ejection_percent")
	if ph.MaxEjectionPercent < 0 || ph.MaxEjectionPercent > 100 || ph.MaxEjectionPercent == 0 && p.present(mp) {
		p.errf(mp, "must be from 1 to 100 (default %d; omit passive_health to disable ejection)", health.DefaultMaxEjectionPercent)
	}
	return &health.Passive{
		ConsecutiveFailures: ph.ConsecutiveFailures,
		BaseEjection:        time.Duration(ph.BaseEjection),
		MaxEjection:         time.Duration(ph.MaxEjection),
		MaxEjectionPercent:  ph.MaxEjectionPercent,
	}
}

func (p *parseState) active(path string, ah *ActiveHealth) *health.Active {
	if ah == nil {
		return nil
	}
	pp := join(path, "path")
	if ah.Path != "" || p.present(pp) {
		u, err := url.Parse(ah.Path)
		if !strings.HasPrefix(ah.Path, "/") || err != nil || u.Host != "" || strings.ContainsAny(ah.Path, " #") {
			p.errf(pp, "%q is not a path such as %q", ah.Path, health.DefaultPath)
		}
	}
	p.positiveDuration(join(path, "interval"), time.Duration(ah.Interval), health.DefaultInterval)
	p.positiveDuration(join(path, "timeout"), time.Duration(ah.Timeout), health.DefaultTimeout)
	p.positiveInt(join(path, "healthy_threshold"), ah.HealthyThreshold, health.DefaultHealthyThreshold)
	p.positiveInt(join(path, "unhealthy_threshold"), ah.UnhealthyThreshold, health.DefaultUnhealthyThreshold)
	return &health.Active{
		Path:               ah.Path,
		Interval:           time.Duration(ah.Interval),
		Timeout:            time.Duration(ah.Timeout),
		HealthyThreshold:   ah.HealthyThreshold,
		UnhealthyThreshold: ah.UnhealthyThreshold,
	}
}

// positiveDuration checks a duration whose zero value means def, and
// returns its effective value (0 after an error).
func (p *parseState) positiveDuration(path string, d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		p.errf(path, "must not be negative")
	case d == 0 && p.present(path):
		p.errf(path, "must be positive (omit it for the default, %v)", def)
	case d == 0:
		return def
	default:
		return d
	}
	return 0
}

// positiveInt checks an integer whose zero value means def.
func (p *parseState) positiveInt(path string, n, def int) {
	if n < 0 || n == 0 && p.present(path) {
		p.errf(path, "must be at least 1 (default %d)", def)
	}
}

func (p *parseState) retry(path string, r Retry) gateway.RetrySpec {
	if r.Attempts < 0 || r.Attempts > MaxRetryAttempts {
		p.errf(join(path, "attempts"), "must be from 0 to %d (attempts include the first try)", MaxRetryAttempts)
	}
	for i, s := range r.Statuses {
		if s < 100 || s > 599 {
			p.errf(join(path, "statuses")+"["+strconv.Itoa(i)+"]", "%d is not an HTTP status (100 to 599)", s)
		}
	}
	br := join(path, "budget_ratio")
	if math.IsNaN(r.BudgetRatio) || r.BudgetRatio < 0 || r.BudgetRatio > 1 || r.BudgetRatio == 0 && p.present(br) {
		p.errf(br, "must be above 0 and at most 1 (default 0.2)")
	}
	bm := join(path, "budget_min_per_second")
	if math.IsNaN(r.BudgetMinPerSecond) || math.IsInf(r.BudgetMinPerSecond, 0) || r.BudgetMinPerSecond < 0 ||
		r.BudgetMinPerSecond == 0 && p.present(bm) {
		p.errf(bm, "must be a number above 0 (default 10)")
	}
	return gateway.RetrySpec{
		Attempts: r.Attempts, Statuses: slices.Clone(r.Statuses),
		BudgetRatio: r.BudgetRatio, BudgetMinPerSecond: r.BudgetMinPerSecond,
	}
}

// knownMethods are the methods route tables accept.
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

func (p *parseState) route(path string, r Route, upstreams []string, names map[string]string) (gateway.RouteSpec, bool) {
	nerr := p.doc.ErrorCount()
	spec := gateway.RouteSpec{
		Name: r.Name, Path: r.Path, PathPrefix: r.PathPrefix, StripPrefix: r.StripPrefix,
		Rewrite: r.Rewrite, Timeout: time.Duration(r.Timeout), MaxBodyBytes: int64(r.MaxBodyBytes),
		Upstream: r.Upstream,
	}
	np := join(path, "name")
	switch first, dup := names[r.Name]; {
	case strings.TrimSpace(r.Name) == "":
		p.errf(np, "is required")
	case dup:
		p.errf(np, "%q is already used by %s (line %d)", r.Name, first, p.pos(join(first, "name")).Line)
	default:
		names[r.Name] = path
	}

	seenHosts := map[string]int{}
	for i, h := range r.Hosts {
		hp := join(path, "hosts") + "[" + strconv.Itoa(i) + "]"
		if msg := hostProblem(h); msg != "" {
			p.errf(hp, "%q %s", h, msg)
		}
		if j, dup := seenHosts[strings.ToLower(h)]; dup {
			p.errf(hp, "%q is already listed (hosts[%d])", h, j)
		}
		seenHosts[strings.ToLower(h)] = i
		spec.Hosts = append(spec.Hosts, h)
	}
	seenMethods := map[string]int{}
	for i, m := range r.Methods {
		mp := join(path, "methods") + "[" + strconv.Itoa(i) + "]"
		up := strings.ToUpper(strings.TrimSpace(m))
		if !slices.Contains(knownMethods, up) {
			p.errf(mp, "%q is not a supported method (valid: %s)", m, strings.Join(knownMethods, ", "))
		}
		if j, dup := seenMethods[up]; dup {
			p.errf(mp, "%s is already listed (methods[%d])", up, j)
		}
		seenMethods[up] = i
		spec.Methods = append(spec.Methods, up)
	}

	pp, ppp := join(path, "path"), join(path, "path_prefix")
	switch {
	case r.Path == "" && r.PathPrefix == "":
		p.errf(path, "one of path and path_prefix is required")
	case r.Path != "" && r.PathPrefix != "":
		p.errf(ppp, "path and path_prefix are exclusive: set one")
	case r.Path != "" && !strings.HasPrefix(r.Path, "/"):
		p.errf(pp, "%q must begin with /", r.Path)
	case r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/"):
		p.errf(ppp, "%q must begin with /", r.PathPrefix)
	}
	if r.StripPrefix != "" && !strings.HasPrefix(r.StripPrefix, "/") {
		p.errf(join(path, "strip_prefix"), "%q must begin with /", r.StripPrefix)
	}
	if r.Rewrite != "" && !strings.HasPrefix(r.Rewrite, "/") {
		p.errf(join(path, "rewrite"), "%q must begin with /", r.Rewrite)
	}
	if r.StripPrefix != "" && r.Rewrite != "" {
		p.errf(join(path, "strip_prefix"), "strip_prefix and rewrite are exclusive (rewrite replaces the whole path)")
	}
	if r.Timeout < 0 {
		p.errf(join(path, "timeout"), "must not be negative")
	}
	if r.MaxBodyBytes < 0 {
		p.errf(join(path, "max_body_bytes"), "must not be negative")
	}
	up := join(path, "upstream")
	switch {
	case r.Upstream == "":
		p.errf(up, "is required (%s)", definedList(upstreams))
	case !slices.Contains(upstreams, r.Upstream):
		p.errf(up, "%q is not defined (%s)", r.Upstream, definedList(upstreams))
	}
	for i, v := range r.Variants {
		vp := join(path, "variants") + "[" + strconv.Itoa(i) + "]"
		if !isToken(v.Header) {
			p.errf(join(vp, "header"), "%q is not a valid header name", v.Header)
		}
		if !slices.Contains(upstreams, v.Upstream) {
			p.errf(join(vp, "upstream"), "%q is not defined (%s)", v.Upstream, definedList(upstreams))
		}
		spec.Variants = append(spec.Variants, gateway.Variant{Header: v.Header, Value: v.Value, Upstream: v.Upstream})
	}
	return spec, p.doc.ErrorCount() == nerr
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
	if validHost(name) {
		return ""
	}
	if host, port, err := net.SplitHostPort(name); err == nil && validHost(host) && port != "" {
		return "must not include a port (the port of the Host header is ignored)"
	}
	return "is not a host name or *.suffix"
}

// validHost reports whether h is an IP address or a DNS name (letters,
// digits, '-' and '_' in dot-separated labels, an optional final dot).
func validHost(h string) bool {
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

// isToken reports whether s is an RFC 9110 token (header and cookie names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

var conflictRE = regexp.MustCompile(`^([A-Z]+) (\S+) on host "([^"]*)" is already routed by (.*)$`)

// tableErrors reports route.NewTable's errors (chi pattern errors, rewrite
// templates, two routes for the same method, host and pattern) at the
// route they concern. Conflicts are grouped across methods. It returns
// the indexes of the routes it reported.
func (p *parseState) tableErrors(err error, table []route.Route, paths []string) map[int]bool {
	bad := map[int]bool{}
	type conflict struct {
		idx         int
		host, other string
	}
	type patternMethods struct {
		pattern string
		methods []string
	}
	conflicts := map[conflict][]patternMethods{}
	var order []conflict
	for _, e := range leafErrors(err) {
		msg := e.Error()
		idx := -1
		for i := range table {
			prefix := fmt.Sprintf("route %d (%s): ", i, table[i].Name)
			if rest, ok := strings.CutPrefix(msg, prefix); ok {
				idx, msg = i, rest
				break
			}
		}
		if idx < 0 {
			p.errf("routes", "%s", msg)
			continue
		}
		bad[idx] = true
		if m := conflictRE.FindStringSubmatch(msg); m != nil {
			c := conflict{idx, m[3], m[4]}
			if conflicts[c] == nil {
				order = append(order, c)
			}
			pms := conflicts[c]
			if i := slices.IndexFunc(pms, func(pm patternMethods) bool { return pm.pattern == m[2] }); i >= 0 {
				pms[i].methods = append(pms[i].methods, m[1])
			} else {
				pms = append(pms, patternMethods{m[2], []string{m[1]}})
			}
			conflicts[c] = pms
			continue
		}
		field := "path"
		switch {
		case strings.HasPrefix(msg, "rewrite"):
			field = "rewrite"
		case table[idx].Path == "":
			field = "path_prefix"
		}
		p.errf(join(paths[idx], field), "%s", msg)
	}
	for _, c := range order {
		field := "path"
		if table[c.idx].Path == "" {
			field = "path_prefix"
		}
		var parts []string
		for _, pm := range conflicts[c] {
			if len(pm.methods) == len(knownMethods) {
				parts = append(parts, pm.pattern)
			} else {
				parts = append(parts, strings.Join(pm.methods, ", ")+" "+pm.pattern)
			}
		}
		what := strings.Join(parts, " and ")
		if c.host != "" {
			what += " on host " + strconv.Quote(c.host)
		}
		verb := "is"
		if len(parts) > 1 {
			verb = "are"
		}
		p.errf(join(paths[c.idx], field), "%s %s already routed by route %q", what, verb, c.other)
	}
	return bad
}

// leafErrors flattens errors.Join trees.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// consulResolver builds the resolver of a discovery: consul upstream. The
// client is created once per file and shared; creating it does not contact
// Consul.
func (p *parseState) consulResolver(path string, q *ConsulQuery) *consul.Resolver {
	if p.consulClient == nil {
		var addr, token, dc string
		if a := p.file.Consul; a != nil {
			addr, dc = a.Address, a.Datacenter
			if a.TokenFile != "" {
				b, err := os.ReadFile(a.TokenFile)
				if err != nil {
					p.errf("consul.token_file", "cannot be read: %v", err)
				}
				token = strings.TrimSpace(string(b))
			}
		}
		client, err := consulClient(addr, token)
		if err != nil {
			p.errf("consul", "%v", err)
			return nil
		}
		p.consulClient, p.consulDC = client, dc
	}
	var opts []consul.Option
	dc := p.consulDC
	if q != nil {
		if q.Datacenter != "" {
			dc = q.Datacenter
		}
		for i, tag := range q.Tags {
			if strings.TrimSpace(tag) == "" {
				p.errf(join(path, "consul.tags")+"["+strconv.Itoa(i)+"]", "must not be empty")
			}
		}
		opts = append(opts, consul.WithTags(q.Tags...), consul.WithNamespace(q.Namespace),
			consul.WithPartition(q.Partition), consul.WithFilter(q.Filter))
		if q.PassingOnly != nil {
			opts = append(opts, consul.WithPassingOnly(*q.PassingOnly))
		}
	}
	opts = append(opts, consul.WithDatacenter(dc))
	return consul.NewResolver(p.consulClient, opts...)
}

// consulClients keeps one client per address and token across parses, so
// a reload of an unchanged upstream yields an Equal resolver and the gateway
// keeps its running watch.
var consulClients sync.Map // [2]string{addr, token} -> *api.Client

func consulClient(addr, token string) (*api.Client, error) {
	key := [2]string{addr, token}
	if c, ok := consulClients.Load(key); ok {
		return c.(*api.Client), nil
	}
	c, err := consul.NewClient(addr, token)
	if err != nil {
		return nil, err
	}
	actual, _ := consulClients.LoadOrStore(key, c)
	return actual.(*api.Client), nil
}

// kubeClients keeps one Kubernetes client per process: building it reads
// the in-cluster service account or the kubeconfig, and a reload of an
// unchanged upstream must yield an Equal resolver.
var kubeClients struct {
	once   sync.Once
	client kubernetes.Interface
	err    error
}

func (p *parseState) kubeResolver(path string, k *KubernetesQuery) *kube.Resolver {
	kubeClients.once.Do(func() {
		cfg, err := rest.InClusterConfig()
		if err != nil { // outside a cluster: KUBECONFIG or ~/.kube/config
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		}
		if err != nil {
			kubeClients.err = fmt.Errorf("no in-cluster configuration and no usable kubeconfig: %v", err)
			return
		}
		kubeClients.client, kubeClients.err = kubernetes.NewForConfig(cfg)
	})
	if kubeClients.err != nil {
		p.errf(join(path, "discovery"), "kubernetes: %v", kubeClients.err)
		return nil
	}
	var opts []kube.Option
	if k != nil {
		if k.Namespace != "" {
			opts = append(opts, kube.WithNamespace(k.Namespace))
		}
		if k.Port != "" {
			opts = append(opts, kube.WithPort(k.Port))
		}
	}
	return kube.NewResolver(kubeClients.client, opts...)
}
