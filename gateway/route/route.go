package route

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// Route describes one route. Exactly one of Path and PathPrefix is set.
type Route struct {
	// Name identifies the route in metrics, logs and errors. Required and
	// unique within a table.
	Name string
	// Hosts restricts the route to these Host header values (case
	// insensitive, port ignored). "*.example.com" matches any subdomain.
	// Empty means any host.
	Hosts []string
	// Methods restricts the route to these methods. Empty means any.
	Methods []string
	// Path is a chi pattern: "/users/{id}", "/files/*", "/v{n:[0-9]+}/x".
	Path string
	// PathPrefix matches the prefix and everything below it at a segment
	// boundary: "/api" matches /api, /api/ and /api/x, not /apix.
	PathPrefix string
	// StripPrefix is removed from the path before it goes upstream.
	StripPrefix string
	// CaseInsensitive makes the route match its path in any ASCII case:
	// /Admin and /ADMIN are served by a route for /admin, with the path
	// lower-cased before the route's middleware and the upstream see it.
	// Set it when the upstream treats paths case-insensitively, so that no
	// spelling of a protected path reaches it through another route.
	CaseInsensitive bool
	// Rewrite, when set, replaces the upstream path. {name} is replaced by
	// the chi URL parameter of that name and {*} by the wildcard remainder:
	// Path "/u/{id}/*" with Rewrite "/users/{id}/{*}".
	Rewrite string
	// Timeout bounds the whole request (all upstream attempts). Zero means
	// no route deadline.
	Timeout time.Duration
	// Upstream is the name of the upstream service the route points at,
	// recorded in Info for logs and metrics.
	Upstream string
	// Middleware runs after the gateway-wide middleware, in order, around
	// Handler (authentication, authorization, flow limits, caching...).
	Middleware []func(http.Handler) http.Handler
	// Handler serves the request once matched and rewritten.
	Handler http.Handler
}

// pattern returns the chi patterns the route registers.
func (rt *Route) patterns() []string {
	if rt.Path != "" {
		if rt.CaseInsensitive {
			return []string{lowerPattern(rt.Path)}
		}
		return []string{rt.Path}
	}
	p := strings.TrimSuffix(rt.PathPrefix, "/")
	if rt.CaseInsensitive {
		p = lowerASCII(p)
	}
	if p == "" {
		return []string{"/*"}
	}
	return []string{p, p + "/*"}
}

// lowerPattern lower-cases the literal parts of a chi pattern, leaving
// {name:regexp} parameters as written.
func lowerPattern(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(lowerASCII(p))
			return b.String()
		}
		b.WriteString(lowerASCII(p[:i]))
		j := closingBrace(p[i:])
		if j < 0 {
			b.WriteString(p[i:]) // chi reports the unclosed brace
			return b.String()
		}
		b.WriteString(p[i : i+j+1])
		p = p[i+j+1:]
	}
}

// closingBrace returns the index of the brace closing the one at s[0],
// counting nested braces as chi does for regexp quantifiers ({n:[0-9]{2}}).
func closingBrace(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (rt *Route) validate() error {
	var errs []error
	if rt.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	switch {
	case rt.Path == "" && rt.PathPrefix == "":
		errs = append(errs, errors.New("one of path and path_prefix is required"))
	case rt.Path != "" && rt.PathPrefix != "":
		errs = append(errs, errors.New("path and path_prefix are exclusive"))
	case rt.Path != "" && !strings.HasPrefix(rt.Path, "/"):
		errs = append(errs, fmt.Errorf("path %q must begin with /", rt.Path))
	case rt.PathPrefix != "" && !strings.HasPrefix(rt.PathPrefix, "/"):
		errs = append(errs, fmt.Errorf("path_prefix %q must begin with /", rt.PathPrefix))
	}
	if rt.StripPrefix != "" && !strings.HasPrefix(rt.StripPrefix, "/") {
		errs = append(errs, fmt.Errorf("strip_prefix %q must begin with /", rt.StripPrefix))
	}
	if rt.Rewrite != "" && !strings.HasPrefix(rt.Rewrite, "/") {
		errs = append(errs, fmt.Errorf("rewrite %q must begin with /", rt.Rewrite))
	}
	if rt.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", rt.Timeout))
	}
	for _, m := range rt.Methods {
		if !knownMethod(m) {
			errs = append(errs, fmt.Errorf("method %q is not supported", m))
		}
	}
	for _, h := range rt.Hosts {
		if h == "" || strings.ContainsAny(h, "/ ") || (strings.Contains(h, "*") && !strings.HasPrefix(h, "*.")) {
			errs = append(errs, fmt.Errorf("host %q is not a host name or *.suffix", h))
		}
	}
	if rt.Handler == nil {
		errs = append(errs, errors.New("handler is nil"))
	}
	return errors.Join(errs...)
}

// numMethods is len(methods), as a constant for array types.
const numMethods = 9

var methods = [numMethods]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

func knownMethod(m string) bool {
	for _, k := range methods {
		if k == m {
			return true
		}
	}
	return false
}

// rewriter turns a Rewrite template into the upstream path.
type rewriter struct {
	parts []rewritePart
}

type rewritePart struct {
	literal string
	param   string // "" for a literal; "*" for the wildcard
}

func compileRewrite(tmpl string) (*rewriter, error) {
	rw := &rewriter{}
	for s := tmpl; s != ""; {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			rw.parts = append(rw.parts, rewritePart{literal: s})
			break
		}
		if i > 0 {
			rw.parts = append(rw.parts, rewritePart{literal: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("rewrite %q: unclosed {", tmpl)
		}
		name := s[i+1 : i+j]
		if name == "" {
			return nil, fmt.Errorf("rewrite %q: empty {}", tmpl)
		}
		rw.parts = append(rw.parts, rewritePart{param: name})
		s = s[i+j+1:]
	}
	return rw, nil
}

// paramsIn returns the parameter names the route pattern defines.
func paramsIn(pattern string) map[string]bool {
	out := map[string]bool{}
	for s := pattern; ; {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		if k := strings.IndexByte(name, ':'); k >= 0 {
			name = name[:k]
		}
		out[name] = true
		s = s[i+j+1:]
	}
	if strings.HasSuffix(pattern, "*") {
		out["*"] = true
	}
	return out
}

func (rw *rewriter) apply(rctx *chi.Context) string {
	var b strings.Builder
	for _, p := range rw.parts {
		switch p.param {
		case "":
			b.WriteString(p.literal)
		default:
			b.WriteString(rctx.URLParam(p.param))
		}
	}
	return b.String()
}
