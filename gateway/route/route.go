package route

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Route is one route of a Table: its declaration (spec.Route: matching,
// path changes, deadline, upstream and policies) and the live handler with
// the middleware built from its policies. Exactly one of Path and
// PathPrefix is set. Matching:
//   - Hosts restricts the route to these Host header values (case
//     insensitive, port ignored); "*.example.com" matches any subdomain.
//   - Methods restricts the route to these methods (any case). A route
//     with GET serves HEAD too, unless another route has HEAD for the path.
//   - Path is a chi pattern: "/users/{id}", "/files/*", "/v{n:[0-9]+}/x".
//   - PathPrefix matches the prefix and everything below it at a segment
//     boundary: "/api" matches /api, /api/ and /api/x, not /apix.
//   - CaseInsensitive makes the route match its path in any ASCII case, with
//     the path lower-cased before the route's middleware and the upstream
//     see it, so that no spelling of a protected path reaches a
//     case-insensitive upstream through another route.
//   - Rewrite replaces the upstream path: {name} is the chi URL parameter of
//     that name and {*} the wildcard remainder ("/u/{id}/*" with Rewrite
//     "/users/{id}/{*}"); StripPrefix is removed from the path instead.
//   - Timeout bounds the whole request (all upstream attempts).
type Route struct {
	spec.Route
	// Guards run after the gateway-wide middleware and before the route's
	// CORS policy (built by the table from Route.CORS): what answers every
	// request of the route alike, preflights included (the lifecycle, the
	// client-address rules), so that a preflight cannot learn more than a
	// request does.
	Guards []func(http.Handler) http.Handler
	// Middleware runs after the guards and the CORS policy, in order,
	// around Handler (authentication, authorization, flow limits,
	// caching...).
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

// paramsIn returns the parameter names the route pattern defines, "*"
// included for a trailing wildcard.
func paramsIn(pattern string) map[string]bool {
	out := compose.PathParams(pattern)
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

// methodList returns the route's methods in upper case, or every method.
func (rt *Route) methodList() []string {
	if len(rt.Methods) == 0 {
		return methods[:]
	}
	out := make([]string, len(rt.Methods))
	for i, m := range rt.Methods {
		out[i] = strings.ToUpper(strings.TrimSpace(m))
	}
	return out
}
