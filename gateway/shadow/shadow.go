package shadow

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Finding is one route reaching another's protected paths through a path
// normalisation of their shared upstream.
type Finding struct {
	// Via is the index of the less-protected route that serves the
	// request; Exposed the index of the route whose path it reaches.
	Via, Exposed int
	// ViaRoute and ExposedRoute are their names.
	ViaRoute, ExposedRoute string
	// Host is the Host of the example request ("" when any host will do),
	// Method its method and Path its (escaped) path.
	Host, Method, Path string
	// Sent is the path Via sends upstream for Path; Reaches is the path
	// Exposed sends upstream for one of its own requests, which an
	// upstream applying Normalization reads as Sent.
	Sent, Reaches string
	Normalization Normalization
	// Missing are the protections of Exposed that Via lacks for Method.
	Missing Protection
	// Fix says how to close it.
	Fix string
}

// Message says what was found and how to fix it, in one sentence for a
// log line or a validation error about route Via.
func (f *Finding) Message() string {
	host := ""
	if f.Host != "" {
		host = " on host " + strconv.Quote(f.Host)
	}
	how := "an upstream that " + f.Normalization.does() + " reads it as " + f.Reaches
	if f.Normalization == None {
		how = "it is sent upstream as " + f.Sent + ", exactly what route " + strconv.Quote(f.ExposedRoute) + " sends"
	}
	return fmt.Sprintf("route shadowing (%s): this route serves %s %s%s without the %s of route %q; %s, a path of route %q. Fix: %s",
		f.Normalization, f.Method, f.Path, host, f.Missing, f.ExposedRoute, how, f.ExposedRoute, f.Fix)
}

// Option configures Find.
type Option func(*options)

type options struct {
	upstreams map[string]spec.Upstream
	norms     []Normalization
}

// WithUpstreams gives Find the upstreams the routes name, so that two
// upstream names that reach one backend (the same discovered service, or a
// static instance in common) count as one. Without it only equal names do.
func WithUpstreams(ups map[string]spec.Upstream) Option {
	return func(o *options) { o.upstreams = ups }
}

// WithNormalizations limits Find to these normalisations (default: all of
// Normalizations).
func WithNormalizations(ns ...Normalization) Option {
	return func(o *options) { o.norms = ns }
}

// Find returns where a route serves a request that a path normalisation of
// the upstream turns into a path of a more-protected route on the same
// host, method and backend: one Finding per pair of routes and
// normalisation, ordered by the exposed route, then the normalisation. A
// pair whose exposed route lists the other in shadowing_accepted is left
// out. Composite routes are skipped (they do not forward the client's
// path). The routes must be valid (route.Check); an error says they are not.
func Find(routes []spec.Route, opts ...Option) ([]Finding, error) {
	o := options{norms: Normalizations}
	for _, opt := range opts {
		opt(&o)
	}
	p, err := newProber(routes)
	if err != nil {
		return nil, err
	}
	hosts := allHosts(routes)
	methods := allMethods(routes)
	strips := []string{""}
	for _, r := range routes {
		if s := strings.TrimSuffix(r.StripPrefix, "/"); s != "" && !slices.Contains(strips, s) {
			strips = append(strips, s)
		}
	}
	type key struct {
		via, exposed int
		n            Normalization
	}
	seen := map[key]bool{}
	var out []Finding
	for ei := range routes {
		exp := &routes[ei]
		if exp.Composite != nil || !protectsAny(exp, methodsOf(exp, methods)) {
			continue // nothing is less protected than an unprotected route
		}
		var found []Finding
		for _, host := range probeHosts(exp, hosts) {
			for _, method := range methodsOf(exp, methods) {
				for _, sample := range samples(exp) {
					got, reaches, ok := p.serve(host, method, sample)
					if !ok || got != ei || !strings.HasPrefix(reaches, "/") {
						continue // not a request of this route (another one is more specific)
					}
					for _, n := range o.norms {
						v := n.variant(reaches)
						if v == "" {
							continue
						}
						for _, strip := range strips {
							path := strip + v
							vi, sent, ok := p.serve(host, method, path)
							if !ok || vi == ei {
								continue
							}
							via := &routes[vi]
							k := key{vi, ei, n}
							if seen[k] || via.Composite != nil || n.canon(sent) != n.canon(reaches) ||
								slices.Contains(exp.ShadowingAccepted, via.Name) || !o.sameBackend(via, exp) {
								continue
							}
							missing := Lacks(via, exp, method)
							if missing == 0 {
								continue
							}
							seen[k] = true
							f := Finding{Via: vi, Exposed: ei, ViaRoute: via.Name, ExposedRoute: exp.Name,
								Host: host, Method: method, Path: path, Sent: sent, Reaches: reaches,
								Normalization: n, Missing: missing}
							f.Fix = fix(&f, via, exp)
							found = append(found, f)
						}
					}
				}
			}
		}
		slices.SortStableFunc(found, func(a, b Finding) int {
			return slices.Index(Normalizations, a.Normalization) - slices.Index(Normalizations, b.Normalization)
		})
		out = append(out, found...)
	}
	return out, nil
}

// protectsAny reports whether r has any protection for one of methods.
func protectsAny(r *spec.Route, methods []string) bool {
	var none spec.Route
	for _, m := range methods {
		if Lacks(&none, r, m) != 0 {
			return true
		}
	}
	return false
}

// fix says how to close a finding: the change on the exposed route that
// makes the gateway route the spelling to it, if there is one, else
// protecting the other route; and the acknowledgment for upstreams that do
// not normalise that way.
func fix(f *Finding, via, exp *spec.Route) string {
	protect := fmt.Sprintf("give route %q the %s of route %q", via.Name, f.Missing, exp.Name)
	var first string
	switch f.Normalization {
	case Case:
		first = fmt.Sprintf("set case_insensitive: true on route %q, or %s", exp.Name, protect)
	case TrailingSlash:
		if exp.Path != "" && !strings.Contains(exp.Path, "{") && !strings.Contains(exp.Path, "*") {
			first = fmt.Sprintf("declare route %q with path_prefix: %s instead of path (it then matches %s too), or %s",
				exp.Name, strings.TrimSuffix(exp.Path, "/"), f.Path, protect)
		} else {
			other := exp.Path + "/"
			if exp.Path == "" || strings.HasSuffix(exp.Path, "/") {
				other = strings.TrimSuffix(f.Path, "/")
				if exp.Path != "" {
					other = strings.TrimSuffix(exp.Path, "/")
				}
			}
			first = fmt.Sprintf("add a route for %s with the policies of route %q, or %s", other, exp.Name, protect)
		}
	case Suffix:
		first = fmt.Sprintf("turn suffix pattern matching off in the upstream (Spring: setUseSuffixPatternMatch(false), the default since 5.3), or %s", protect)
	case None:
		first = fmt.Sprintf("%s, or keep it from sending those paths upstream (strip_prefix, rewrite, or another upstream)", protect)
	default:
		first = protect
	}
	return fmt.Sprintf("%s; if the upstream does not do this, add %q to shadowing_accepted of route %q", first, via.Name, exp.Name)
}

// sameBackend reports whether requests through a and b can reach the same
// service: an upstream in common (their variants' and mirrors' included:
// a mirror's copy has the route's path and its side effects), or two
// names for one backend.
func (o *options) sameBackend(a, b *spec.Route) bool {
	for _, x := range targets(a) {
		for _, y := range targets(b) {
			if x == y || o.equivalent(x, y) {
				return true
			}
		}
	}
	return false
}

func targets(r *spec.Route) []string {
	out := []string{r.Upstream}
	for _, v := range r.Variants {
		out = append(out, v.Upstream)
	}
	if r.Mirror != nil {
		out = append(out, r.Mirror.Upstream)
	}
	return out
}

// equivalent reports whether upstreams x and y are one backend: the same
// discovered service, or static lists with an instance in common.
func (o *options) equivalent(x, y string) bool {
	ux, okx := o.upstreams[x]
	uy, oky := o.upstreams[y]
	if !okx || !oky {
		return false
	}
	kind := func(u spec.Upstream) string {
		if u.Discovery == "" {
			return "static"
		}
		return u.Discovery
	}
	if kind(ux) != kind(uy) {
		return false
	}
	if kind(ux) != "static" {
		sx, sy := ux.Service, uy.Service
		if sx == "" {
			sx = x
		}
		if sy == "" {
			sy = y
		}
		return sx == sy
	}
	for _, a := range ux.Instances {
		for _, b := range uy.Instances {
			if strings.EqualFold(a.Addr, b.Addr) {
				return true
			}
		}
	}
	return false
}

// prober asks the gateway's own route table which route serves a request
// and what path that route sends upstream.
type prober struct {
	table *route.Table
	hit   int
	sent  string
	w     discard
}

func newProber(routes []spec.Route) (*prober, error) {
	p := &prober{}
	rs := make([]route.Route, len(routes))
	for i := range routes {
		rs[i] = route.Route{Route: routes[i], Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			p.hit, p.sent = i, r.URL.EscapedPath()
		})}
	}
	t, err := route.NewTable(rs)
	if err != nil {
		return nil, err
	}
	p.table = t
	return p, nil
}

// probeHost stands for "a host no route names".
const probeHost = "shadow-probe.invalid"

// serve routes one request; ok is false when no route serves it (refused
// as malformed, 404, 405).
func (p *prober) serve(host, method, escaped string) (int, string, bool) {
	u, err := url.Parse(escaped)
	if err != nil || u.Opaque != "" || u.Host != "" || u.RawQuery != "" {
		return 0, "", false // Go's server would refuse it before the gateway
	}
	if host == "" {
		host = probeHost
	}
	r := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		RemoteAddr: "192.0.2.1:1", RequestURI: escaped}
	p.hit = -1
	p.table.ServeHTTP(&p.w, r)
	return p.hit, p.sent, p.hit >= 0
}

// discard is a ResponseWriter for probes.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	clear(d.h)
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// allHosts returns every host the routes name, wildcards made concrete.
func allHosts(routes []spec.Route) []string {
	var out []string
	for _, r := range routes {
		for _, h := range r.Hosts {
			h = concreteHost(h)
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

func concreteHost(h string) string {
	h = strings.ToLower(h)
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		return "shadow-probe." + rest
	}
	return h
}

// probeHosts returns the hosts to try r's requests on: its own, or, for a
// route on any host, no particular host and every named one (whose trees
// fall back to the route).
func probeHosts(r *spec.Route, all []string) []string {
	if len(r.Hosts) > 0 {
		out := make([]string, len(r.Hosts))
		for i, h := range r.Hosts {
			out[i] = concreteHost(h)
		}
		return out
	}
	return append([]string{""}, all...)
}

var knownMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

// allMethods returns GET and every method a route or an authorize rule
// names: the methods along which routes and protections differ.
func allMethods(routes []spec.Route) []string {
	set := map[string]bool{http.MethodGet: true}
	for _, r := range routes {
		for _, m := range r.Methods {
			set[strings.ToUpper(m)] = true
		}
		if r.Authorize != nil {
			for m := range r.Authorize.Methods {
				set[strings.ToUpper(m)] = true
			}
		}
	}
	var out []string
	for _, m := range knownMethods {
		if set[m] {
			out = append(out, m)
		}
	}
	return out
}

func methodsOf(r *spec.Route, all []string) []string {
	if len(r.Methods) == 0 {
		return all
	}
	out := make([]string, 0, len(r.Methods))
	for _, m := range r.Methods {
		out = append(out, strings.ToUpper(m))
	}
	return out
}

// samples returns request paths of r: its prefix and a path below it, or
// its pattern with parameters filled in (a digit, or a letter for
// parameters whose regexp refuses digits).
func samples(r *spec.Route) []string {
	if r.Path == "" {
		p := strings.TrimSuffix(r.PathPrefix, "/")
		if p == "" {
			return []string{"/", "/x"}
		}
		return []string{p, p + "/x"}
	}
	var out []string
	for _, fill := range []string{"1", "a"} {
		s := fillPattern(r.Path, fill)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// fillPattern replaces each {param} of a chi pattern with fill and a
// trailing * with x.
func fillPattern(p, fill string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth := 0
			for ; i < len(p); i++ {
				if p[i] == '{' {
					depth++
				} else if p[i] == '}' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			b.WriteString(fill)
		case '*':
			b.WriteString("x")
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}
