package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/harden"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Table is an immutable set of routes compiled into chi trees. It is an
// http.Handler. Build it with NewTable.
type Table struct {
	refuse http.Handler // the gateway-wide chain around a 400 for refused paths
	// maxHeaders bounds the header field lines of a request (0: none).
	maxHeaders int
	routes     []Route
	exact      map[string]*tree // by lower-case host
	wild       []wildHost       // "*.example.com", longest suffix first
	any        *tree            // routes without hosts
	// trusted are the proxies whose forwarding headers are believed.
	trusted []netip.Prefix
}

// tree is the chi mux of one host plus an index from a matched pattern back
// to its route and handler, so Find and ServeHTTP need no allocation.
type tree struct {
	mux   *chi.Mux
	index map[string]*[numMethods]endpoint // pattern -> per method
	// caseInsensitive is set when a route of the tree is case-insensitive.
	caseInsensitive bool
}

// endpoint is a route and the handler registered for it under one method.
type endpoint struct {
	route   *Route
	handler http.Handler
}

type wildHost struct {
	suffix string // ".example.com"
	tree   *tree
}

// Option configures a Table.
type Option func(*tableOptions)

type tableOptions struct {
	maxHeaders int
	middleware []func(http.Handler) http.Handler
	refused    []func(http.Handler) http.Handler
	hasRefused bool
	trusted    []netip.Prefix
}

// WithMaxHeaderCount refuses requests with more than max header field lines
// (431), through the refused chain like a malformed path: counted with
// reason too_many_headers and logged. 0 is no limit.
func WithMaxHeaderCount(max int) Option { return func(o *tableOptions) { o.maxHeaders = max } }

// WithMiddleware adds middleware that runs for every route, outside the
// route's own middleware (request id, metrics, access log). Info is already
// in the context when it runs.
func WithMiddleware(mw ...func(http.Handler) http.Handler) Option {
	return func(o *tableOptions) { o.middleware = append(o.middleware, mw...) }
}

// WithRefusedMiddleware sets the middleware of requests refused before
// matching (a malformed path: 400), instead of the WithMiddleware chain:
// metrics and a rate-limited log, say, but not the per-request access log,
// which a flood of bad requests would flood. Info (route Refused, the
// reason in its error) is in the context when it runs.
func WithRefusedMiddleware(mw ...func(http.Handler) http.Handler) Option {
	return func(o *tableOptions) { o.refused, o.hasRefused = append(o.refused, mw...), true }
}

// WithTrustedProxies lists the networks whose X-Forwarded-For (and other
// forwarding headers) are believed. The table decides each request's client
// once with it (see ClientOf); because a reload builds a new table, a new
// list applies to every route at once, whatever else was reused.
func WithTrustedProxies(nets ...netip.Prefix) Option {
	return func(o *tableOptions) { o.trusted = append(o.trusted, nets...) }
}

// NewTable validates routes and compiles them. It reports every problem it
// finds, each prefixed with the route's index and name, and builds nothing
// unless all routes are valid.
func NewTable(routes []Route, opts ...Option) (*Table, error) {
	var o tableOptions
	for _, opt := range opts {
		opt(&o)
	}
	decl := make([]spec.Route, len(routes))
	for i := range routes {
		decl[i] = routes[i].Route
	}
	if err := spec.CheckRoutes(decl); err != nil {
		return nil, err
	}
	var errs []error
	for i := range routes {
		if routes[i].Handler == nil {
			errs = append(errs, &spec.FieldError{Path: spec.Index("routes", i), Message: "has no handler"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	refusedChain := o.middleware
	if o.hasRefused {
		refusedChain = o.refused
	}
	t := &Table{refuse: chain(refusedChain, http.HandlerFunc(refused)), routes: append([]Route(nil), routes...), exact: map[string]*tree{}, trusted: o.trusted, maxHeaders: o.maxHeaders}
	handlers := make([]http.Handler, len(routes))
	for i := range t.routes {
		h, field, err := t.routes[i].handler(o.middleware)
		if err != nil {
			errs = append(errs, &spec.FieldError{Path: spec.Join(spec.Index("routes", i), field), Message: err.Error()})
		}
		handlers[i] = h
	}
	// Routes whose handler failed are left out of the trees, which are
	// still built: their problems are reported too, all at once.

	// Every host tree gets its own routes first, then the host-less ones that
	// do not collide, so a request needs exactly one tree lookup.
	hostRoutes := map[string][]int{}
	var anyRoutes []int
	for i, rt := range t.routes {
		if len(rt.Hosts) == 0 {
			anyRoutes = append(anyRoutes, i)
			continue
		}
		for _, h := range rt.Hosts {
			// Keyed as tree looks a Host header up: "api.example.com." is
			// "api.example.com", which one route may list in both spellings.
			h = strings.TrimSuffix(strings.ToLower(h), ".")
			if own := hostRoutes[h]; len(own) > 0 && own[len(own)-1] == i {
				continue
			}
			hostRoutes[h] = append(hostRoutes[h], i)
		}
	}
	build := func(host string, own []int) (*tree, error) {
		mux := chi.NewMux()
		tr := &tree{mux: mux, index: map[string]*[numMethods]endpoint{}}
		// Unmatched requests go through the gateway-wide middleware too, so
		// metrics (the QPS the autoscaler sees) and logs count them.
		mux.NotFound(withInfo(Unmatched, "", chain(o.middleware, http.HandlerFunc(notFound))).ServeHTTP)
		mux.MethodNotAllowed(withInfo(Unmatched, "", chain(o.middleware, methodNotAllowed(mux))).ServeHTTP)
		seen := map[string]string{} // method+pattern -> route name
		var errs []error
		conflicts := newConflicts(host)
		badPattern := map[string]bool{}
		add := func(i int, fallback bool) {
			rt := &t.routes[i]
			if handlers[i] == nil {
				return
			}
			ms := rt.methodList()
			for _, p := range rt.patterns() {
				for _, m := range ms {
					key := m + " " + p
					if other, ok := seen[key]; ok {
						if !fallback {
							conflicts.add(i, rt, m, p, other)
						}
						continue
					}
					seen[key] = rt.Name
					if tr.index[p] == nil {
						tr.index[p] = new([numMethods]endpoint)
					}
					tr.index[p][methodIndex(m)] = endpoint{route: rt, handler: handlers[i]}
					if rt.CaseInsensitive {
						tr.caseInsensitive = true
					}
					if err := register(mux, m, p, handlers[i]); err != nil && !badPattern[p] {
						badPattern[p] = true
						errs = append(errs, &spec.FieldError{Path: spec.Join(spec.Index("routes", i), rt.pathField()), Message: err.Error()})
					}
				}
			}
		}
		for _, i := range own {
			add(i, false)
		}
		for _, i := range anyRoutes {
			add(i, host != "")
		}
		// HEAD follows GET (RFC 9110 9.1; net/http's ServeMux does the
		// same): a GET route serves HEAD, with its policies, where no
		// route claimed HEAD for the pattern.
		for _, i := range append(own[:len(own):len(own)], anyRoutes...) {
			rt := &t.routes[i]
			ms := rt.methodList()
			if handlers[i] == nil || !slices.Contains(ms, http.MethodGet) || slices.Contains(ms, http.MethodHead) {
				continue
			}
			for _, p := range rt.patterns() {
				key := http.MethodHead + " " + p
				if _, ok := seen[key]; ok || badPattern[p] {
					continue
				}
				seen[key] = rt.Name
				tr.index[p][methodIndex(http.MethodHead)] = endpoint{route: rt, handler: handlers[i]}
				_ = register(mux, http.MethodHead, p, handlers[i]) // GET registered it already
			}
		}
		return tr, errors.Join(append(errs, conflicts.errors()...)...)
	}
	var err error
	if t.any, err = build("", nil); err != nil {
		errs = append(errs, err)
	}
	for h, own := range hostRoutes {
		tr, err := build(h, own)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.HasPrefix(h, "*.") {
			t.wild = append(t.wild, wildHost{suffix: h[1:], tree: tr})
		} else {
			t.exact[h] = tr
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Longest suffix first: *.a.example.com wins over *.example.com.
	for i := 1; i < len(t.wild); i++ {
		for j := i; j > 0 && len(t.wild[j].suffix) > len(t.wild[j-1].suffix); j-- {
			t.wild[j], t.wild[j-1] = t.wild[j-1], t.wild[j]
		}
	}
	return t, nil
}

// register adds one method+pattern, turning chi's panics on bad patterns
// into errors.
func register(mux *chi.Mux, method, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pattern %q: %v", pattern, p)
		}
	}()
	mux.Method(method, pattern, h)
	return nil
}

// Routes returns a copy of the table's routes.
func (t *Table) Routes() []Route { return append([]Route(nil), t.routes...) }

// TrustedProxies returns a copy of the list given to WithTrustedProxies.
func (t *Table) TrustedProxies() []netip.Prefix { return append([]netip.Prefix(nil), t.trusted...) }

// ServeHTTP routes r. The path is normalised first (see NormalizePath) so
// that matching, the route's policies and the upstream all see the same
// path; a path that cannot be normalised safely gets 400. Mounted on a chi
// router (r.Mount("/api", table)), the table sees the path below the mount
// point, as chi's own sub-routers do: a route for /users serves
// /api/users/1, and its policies and the upstream see /users/1.
func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if parent := chi.RouteContext(r.Context()); parent != nil && parent.RoutePath != "" {
		r = belowMount(r, parent.RoutePath)
	}
	if t.maxHeaders > 0 {
		if n := harden.HeaderCount(r.Header); n > t.maxHeaders {
			t.refused(w, r, ReasonTooManyHeaders, &headerCountError{n, t.maxHeaders})
			return
		}
	}
	esc := r.URL.EscapedPath()
	if needsNormalize(esc) {
		n, err := NormalizePath(esc)
		if err != nil {
			reason := ""
			var pe *PathError
			if errors.As(err, &pe) {
				reason = pe.Reason
			}
			t.refused(w, r, reason, err)
			return
		}
		c := *r.URL // the caller's URL is not ours to change
		setEscapedPath(&c, n)
		r = shallowWithURL(r, &c)
		esc = n
	}
	tr := t.tree(r.Host)
	rctx := routeContexts.Get().(*chi.Context)
	rctx.Reset()
	defer routeContexts.Put(rctx)
	if tr.caseInsensitive && hasUpperASCII(esc) {
		// A case-insensitive route serves every spelling of its path, and
		// the upstream gets the spelling it declared (lower case), so the
		// route's policies apply to /ADMIN as to /admin.
		lower := lowerASCII(esc)
		if tr.matchesCaseInsensitive(rctx, r.Method, lower) {
			c := *r.URL
			setEscapedPath(&c, lower)
			r = shallowWithURL(r, &c)
		}
		rctx.Reset()
	}
	// The record is made here, before matching, so the client is decided
	// once with this table's trusted proxies; withInfo names the route.
	ctx, _ := request.EntryContext(r.Context(), request.ResolveClient(r, t.trusted), chi.RouteCtxKey, rctx)
	r = r.WithContext(ctx)
	// The match is chi's (the tree's Find), but the route's handler is
	// called here rather than through chi's Mux, which sets every URL
	// parameter as a net/http path value: the catch-all "*" of every prefix
	// route would cost a map per request (336 B, a sixth of the gateway's
	// own bytes per proxied request). Named parameters are still set;
	// the catch-all is in chi.URLParam(r, "*").
	routePath := r.URL.RawPath
	if routePath == "" {
		routePath = r.URL.Path
	}
	if routePath == "" {
		routePath = "/"
	}
	rctx.RouteMethod = r.Method
	if e := tr.lookup(rctx, r, routePath); e != nil {
		for i, key := range rctx.URLParams.Keys {
			if key != "*" {
				r.SetPathValue(key, pathValue(rctx.URLParams.Values[i], r.URL.RawPath != ""))
			}
		}
		r.Pattern = rctx.RoutePattern()
		e.handler.ServeHTTP(w, r)
		return
	}
	// No route: chi's Mux answers 404 or 405 (with Allow) through the
	// gateway-wide middleware.
	rctx.Reset()
	tr.mux.ServeHTTP(w, r)
}

// pathValue is a URL parameter as Request.PathValue gives it under
// net/http's ServeMux: unescaped. chi matched the escaped path when RawPath
// is set ("/t/a%40b"), and its parameter is then still escaped, so one value
// would have two spellings.
func pathValue(v string, escaped bool) string {
	if !escaped || strings.IndexByte(v, '%') < 0 {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// lookup returns what serves r at path, or nil; rctx gets the URL
// parameters. A CORS preflight (OPTIONS asking about another method) goes
// to the route serving the method it asks about when that route has a CORS
// policy, whose middleware answers it: a route need not list OPTIONS for
// browsers to call it, and the answer is the policy of the route the
// actual request will reach. Other OPTIONS requests match as any method
// does (405 where no route has OPTIONS).
func (tr *tree) lookup(rctx *chi.Context, r *http.Request, path string) *endpoint {
	if cors.IsPreflight(r) {
		if m := r.Header.Get("Access-Control-Request-Method"); knownMethod(m) {
			if e := tr.endpoint(rctx, m, path); e != nil && e.route.CORS.Enabled() {
				return e
			}
			rctx.Reset()
			rctx.RouteMethod = r.Method
		}
	}
	return tr.endpoint(rctx, r.Method, path)
}

// endpoint returns what serves method and path in the tree, or nil; rctx
// gets the URL parameters.
func (tr *tree) endpoint(rctx *chi.Context, method, path string) *endpoint {
	pattern := tr.mux.Find(rctx, method, path)
	if pattern == "" {
		return nil
	}
	byMethod := tr.index[pattern]
	if byMethod == nil {
		return nil
	}
	e := &byMethod[methodIndex(method)]
	if e.route == nil {
		return nil
	}
	return e
}

// shallowWithURL returns a shallow copy of r with u as its URL.
func shallowWithURL(r *http.Request, u *url.URL) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = u
	return r2
}

// matchesCaseInsensitive reports whether the lower-cased path lower is
// served by a case-insensitive route, for method or (so that a 405 is the
// same for every spelling) any other method.
func (tr *tree) matchesCaseInsensitive(rctx *chi.Context, method, lower string) bool {
	try := func(m string) bool {
		rctx.Reset()
		e := tr.endpoint(rctx, m, lower)
		return e != nil && e.route.CaseInsensitive
	}
	if knownMethod(method) && try(method) {
		return true
	}
	for _, m := range methods {
		if m != method && try(m) {
			return true
		}
	}
	return false
}

// routeContexts recycles chi routing contexts, as chi's own Mux does; the
// table brings its own so that a parent router's partial match is ignored.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// tree returns the tree for host.
func (t *Table) tree(host string) *tree {
	if len(t.exact) == 0 && len(t.wild) == 0 {
		return t.any
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1] // an IPv6 literal without a port
	}
	host = strings.TrimSuffix(host, ".") // "example.com." is "example.com"
	if tr, ok := t.exact[host]; ok {
		return tr
	}
	lower := strings.ToLower(host)
	if tr, ok := t.exact[lower]; ok {
		return tr
	}
	for _, w := range t.wild {
		if strings.HasSuffix(lower, w.suffix) && len(lower) > len(w.suffix) {
			return w.tree
		}
	}
	return t.any
}

// Find returns the route for host, method and (normalised, escaped) path,
// or nil. rctx is reset and filled with the URL parameters; reusing one
// makes Find allocation-free. The request path uses ServeHTTP; Find is for
// tools, tests and benchmarks.
func (t *Table) Find(rctx *chi.Context, host, method, path string) *Route {
	rctx.Reset()
	if e := t.tree(host).endpoint(rctx, method, path); e != nil {
		return e.route
	}
	return nil
}

// Match returns the route r would be served by, or nil (also for a path
// ServeHTTP refuses). The path is prepared as ServeHTTP prepares it.
func (t *Table) Match(r *http.Request) *Route {
	u := *r.URL
	esc := u.EscapedPath()
	if needsNormalize(esc) {
		n, err := NormalizePath(esc)
		if err != nil {
			return nil
		}
		setEscapedPath(&u, n)
		esc = n
	}
	tr := t.tree(r.Host)
	rctx := chi.NewRouteContext()
	if tr.caseInsensitive && hasUpperASCII(esc) {
		if lower := lowerASCII(esc); tr.matchesCaseInsensitive(rctx, r.Method, lower) {
			setEscapedPath(&u, lower)
		}
	}
	p := u.RawPath
	if p == "" {
		p = u.Path
	}
	if p == "" {
		p = "/"
	}
	rctx.Reset()
	if e := tr.lookup(rctx, r, p); e != nil {
		return e.route
	}
	return nil
}

func methodIndex(m string) int {
	for i, k := range methods {
		if k == m {
			return i
		}
	}
	return 0 // unreachable for validated methods; Find checks via chi first
}

func notFound(w http.ResponseWriter, r *http.Request) {
	problem.Write(w, problem.Details{Status: http.StatusNotFound, Detail: "no route matches " + r.Method + " " + r.URL.Path})
}

// methodNotAllowed answers 405 with the Allow header chi would have set; a
// custom chi handler does not get the allowed methods, so they are looked up
// again here (only on this error path).
func methodNotAllowed(mux *chi.Mux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.RawPath
		if p == "" {
			p = r.URL.Path
		}
		var allowed []string
		for _, m := range methods {
			if mux.Match(chi.NewRouteContext(), m, p) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		problem.Write(w, problem.Details{Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not routed for " + r.URL.Path})
	}
}

// handler builds the route's full handler: Info, gateway middleware, the
// route's guards, its CORS policy, route middleware, then path changes and
// the deadline around Handler. An error names the route field at fault.
func (rt *Route) handler(global []func(http.Handler) http.Handler) (http.Handler, string, error) {
	mw := rt.Middleware
	if rt.CORS.Enabled() {
		// The table builds the CORS middleware from the declaration, since
		// it sends preflights to routes with one: whoever builds a route
		// (package live, a Go program), its preflights never reach its
		// Handler. It comes before the route's own middleware: a preflight
		// carries no credentials, so authentication would refuse it, and the
		// gateway's refusals (401, 429) need the CORS headers for a page to
		// read them; outside a cache, each hit is marked for its own origin.
		// The guards come first: a draft route is a 404 to a preflight too.
		o := *rt.CORS
		if len(o.AllowMethods) == 0 {
			// The route's own methods: a preflight reaches the route only
			// for a method it serves (lookup), and the package's default
			// (GET, HEAD, POST) refused every preflight of a PUT route.
			o.AllowMethods = rt.corsMethods()
		}
		c, err := cors.New(o)
		if err != nil {
			return nil, "cors", err
		}
		mw = append([]func(http.Handler) http.Handler{c.Middleware}, mw...)
	}
	if len(rt.Guards) > 0 {
		mw = append(slices.Clone(rt.Guards), mw...)
	}
	var rw *rewriter
	if rt.Rewrite != "" {
		var err error
		if rw, err = compileRewrite(rt.Rewrite); err != nil {
			return nil, "rewrite", err
		}
		defined := map[string]bool{"*": true} // a prefix route: only the remainder
		if rt.Path != "" {
			defined = paramsIn(rt.Path)
		}
		for _, p := range rw.parts {
			if p.param != "" && !defined[p.param] {
				return nil, "rewrite", fmt.Errorf("rewrite %q uses {%s}, which the path does not define", rt.Rewrite, p.param)
			}
		}
	}
	strip := strings.TrimSuffix(rt.StripPrefix, "/")
	if rt.CaseInsensitive {
		strip = lowerASCII(strip) // the path it is cut from is lower case
	}
	timeout := rt.Timeout.Std()
	final := rt.Handler
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if rw == nil && strip == "" && timeout == 0 {
			final.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(ctx) // shallow copy: the URL is replaced below, not edited
		if rw != nil || strip != "" {
			u := *r.URL
			escaped := u.EscapedPath()
			switch {
			case rw != nil:
				escaped = rw.apply(chi.RouteContext(r.Context()))
				if !strings.HasPrefix(escaped, "/") {
					escaped = "/" + escaped
				}
			case strip != "":
				if rest, ok := strings.CutPrefix(escaped, strip); ok && (rest == "" || rest[0] == '/') {
					escaped = rest
					if escaped == "" {
						escaped = "/"
					}
				}
			}
			setEscapedPath(&u, escaped)
			r2.URL = &u
		}
		final.ServeHTTP(w, r2)
	})
	return withInfo(rt.Name, rt.Upstream, chain(global, chain(mw, inner))), "", nil
}

// corsMethods returns the methods a route's CORS policy allows when it
// lists none: the route's, less CONNECT and TRACE, which no page can send
// (Fetch forbids them).
func (rt *Route) corsMethods() []string {
	// A copy: methodList may return the table's own list.
	return slices.DeleteFunc(slices.Clone(rt.methodList()), func(m string) bool {
		return m == http.MethodConnect || m == http.MethodTrace
	})
}

// Unmatched is the route name recorded for requests no route matches.
const Unmatched = request.Unmatched

// chain wraps h in mw, the first element outermost.
func chain(mw []func(http.Handler) http.Handler, h http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// withInfo names the route in the Info that Table.ServeHTTP made; nothing
// has seen that Info yet, so the name is set before anyone reads it.
func withInfo(name, upstream string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := request.InfoFrom(r.Context())
		if info == nil || info.Route != "" { // not from this table's entry
			info = &request.Info{}
			r = r.WithContext(request.WithInfo(r.Context(), info))
		}
		info.Route = name
		info.SetUpstream(upstream)
		next.ServeHTTP(w, r)
	})
}

// setEscapedPath sets u's path from its escaped form, keeping RawPath only
// when the escaping is not the default one (e.g. an encoded slash).
func setEscapedPath(u *url.URL, escaped string) {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		p = escaped
	}
	u.Path = p
	u.RawPath = ""
	if u.EscapedPath() != escaped {
		u.RawPath = escaped
	}
}

// pathField names the route field a pattern came from.
func (rt *Route) pathField() string {
	if rt.Path != "" {
		return "path"
	}
	return "path_prefix"
}

// conflicts groups "already routed" problems per route and other route,
// across methods and patterns, so one clash is one message.
type conflicts struct {
	host  string
	order []conflictKey
	by    map[conflictKey][]patternMethods
}

type conflictKey struct {
	idx   int
	field string
	other string
}

type patternMethods struct {
	pattern string
	methods []string
}

func newConflicts(host string) *conflicts {
	return &conflicts{host: host, by: map[conflictKey][]patternMethods{}}
}

func (c *conflicts) add(i int, rt *Route, method, pattern, other string) {
	k := conflictKey{i, rt.pathField(), other}
	pms, ok := c.by[k]
	if !ok {
		c.order = append(c.order, k)
	}
	for j := range pms {
		if pms[j].pattern == pattern {
			pms[j].methods = append(pms[j].methods, method)
			c.by[k] = pms
			return
		}
	}
	c.by[k] = append(pms, patternMethods{pattern, []string{method}})
}

func (c *conflicts) errors() []error {
	var out []error
	for _, k := range c.order {
		var parts []string
		for _, pm := range c.by[k] {
			if len(pm.methods) == numMethods {
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
		out = append(out, &spec.FieldError{Path: spec.Join(spec.Index("routes", k.idx), k.field),
			Message: fmt.Sprintf("%s %s already routed by route %q", what, verb, k.other)})
	}
	return out
}

// Check compiles routes as NewTable does, without handlers, and returns its
// problems (*spec.FieldError at routes[i]): bad chi patterns, rewrite
// templates, and two routes for one method, host and pattern.
func Check(decl []spec.Route) error {
	routes := make([]Route, len(decl))
	for i := range decl {
		routes[i] = Route{Route: decl[i], Handler: http.NotFoundHandler()}
	}
	_, err := NewTable(routes)
	return err
}

// belowMount returns r with its path cut to what a parent chi router left
// for the mounted table. chi routes on RawPath when it is set, so the
// remainder is escaped then and plain otherwise.
func belowMount(r *http.Request, rest string) *http.Request {
	c := *r.URL
	if r.URL.RawPath != "" {
		setEscapedPath(&c, rest)
	} else {
		c.Path, c.RawPath = rest, ""
	}
	return shallowWithURL(r, &c)
}

type refusalKey struct{}

// ReasonTooManyHeaders is the refusal reason of a request over
// WithMaxHeaderCount.
const ReasonTooManyHeaders = "too_many_headers"

type headerCountError struct{ n, max int }

func (e *headerCountError) Error() string { return "too many header fields" }

// refused sends r, refused before matching for reason, through the
// gateway-wide refused chain: counted (route "(refused)") and logged, so
// attacks show.
func (t *Table) refused(w http.ResponseWriter, r *http.Request, reason string, err error) {
	info := request.NewInfo(request.Refused, "", request.ResolveClient(r, t.trusted))
	if reason != "" {
		info.SetError("refused: " + reason)
	}
	ctx := context.WithValue(request.WithInfo(r.Context(), info), refusalKey{}, err)
	t.refuse.ServeHTTP(w, r.WithContext(ctx))
}

// refused answers with the error put in the context by Table.refused: 431
// for too many header fields, else 400.
func refused(w http.ResponseWriter, r *http.Request) {
	err, _ := r.Context().Value(refusalKey{}).(error)
	var hc *headerCountError
	if errors.As(err, &hc) {
		harden.TooManyHeaders(w, hc.n, hc.max)
		return
	}
	detail := "malformed request path"
	if err != nil {
		detail = err.Error()
	}
	problem.Write(w, problem.Details{Status: http.StatusBadRequest, Detail: detail})
}
