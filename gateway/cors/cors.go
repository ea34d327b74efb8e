package cors

import (
	"net/http"
	"strings"

	"github.com/gatescale/gatescale/internal/vary"
)

// CORS answers a route's preflights and marks its answers for the origins
// its Options allow. Build it with New; it is safe for concurrent use.
type CORS struct{ p *policy }

// New validates o and returns its CORS.
func New(o Options) (*CORS, error) {
	p, err := compile(o)
	if err != nil {
		return nil, err
	}
	return &CORS{p: p}, nil
}

// Request headers of the CORS protocol.
const (
	headerOrigin               = "Origin"
	headerRequestMethod        = "Access-Control-Request-Method"
	headerRequestHeaders       = "Access-Control-Request-Headers"
	headerRequestPrivate       = "Access-Control-Request-Private-Network"
	headerAllowOrigin          = "Access-Control-Allow-Origin"
	headerAllowCredentials     = "Access-Control-Allow-Credentials"
	headerAllowMethods         = "Access-Control-Allow-Methods"
	headerAllowHeaders         = "Access-Control-Allow-Headers"
	headerExposeHeaders        = "Access-Control-Expose-Headers"
	headerMaxAge               = "Access-Control-Max-Age"
	headerAllowPrivateNetwork  = "Access-Control-Allow-Private-Network"
	preflightVary              = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	requestPrivateNetworkValue = "true"
)

// IsPreflight reports whether r is a CORS preflight: OPTIONS with an
// Origin and an Access-Control-Request-Method. Route tables use it to
// send a preflight to the route that serves the method it asks about.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get(headerOrigin) != "" && r.Header.Get(headerRequestMethod) != ""
}

// Middleware answers preflights itself, 204 with no body, without calling
// next: with the CORS headers when the origin, the method and every
// requested header are allowed, and without them otherwise (the browser
// then refuses the actual request). Other requests go to next; when their
// origin is allowed, the answer gets Access-Control-Allow-Origin (and
// -Allow-Credentials, -Expose-Headers), replacing any the upstream sent;
// under a policy of "*", every answer gets them, with or without Origin.
// A request from another origin is still served, without CORS headers: the
// browser keeps its answer from the page. Every answer whose CORS headers
// depend on the origin says Vary: Origin, so that caches keep them apart.
// A Disabled policy's Middleware is next itself.
func (c *CORS) Middleware(next http.Handler) http.Handler {
	if c.p.off {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsPreflight(r) {
			c.preflight(w, r)
			return
		}
		cw := &writer{ResponseWriter: w, p: c.p, origin: r.Header.Get(headerOrigin)}
		next.ServeHTTP(cw, r)
		if !cw.done {
			// Nothing written: net/http sends the header map as it is now.
			cw.done = true
			cw.mark()
		}
	})
}

func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) {
	p := c.p
	h := w.Header()
	h.Set("Vary", preflightVary)
	h.Set("Content-Length", "0")
	allow := p.allowOrigin(r.Header.Get(headerOrigin))
	method := r.Header.Get(headerRequestMethod)
	requested := r.Header.Values(headerRequestHeaders)
	if allow == "" || !p.allowsMethod(method) || !p.allowsHeaders(requested) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set(headerAllowOrigin, allow)
	if p.credentials {
		h.Set(headerAllowCredentials, "true")
	}
	h.Set(headerAllowMethods, p.methodsValue)
	switch {
	case p.reflectHdrs && len(requested) > 0:
		h.Set(headerAllowHeaders, strings.Join(requested, ", "))
	case !p.reflectHdrs && p.headersValue != "":
		h.Set(headerAllowHeaders, p.headersValue)
	}
	if p.maxAge != "" {
		h.Set(headerMaxAge, p.maxAge)
	}
	if p.privateNetwork && r.Header.Get(headerRequestPrivate) == requestPrivateNetworkValue {
		h.Set(headerAllowPrivateNetwork, "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowsMethod reports whether a preflight may ask for m: a listed method
// or a CORS-safelisted one (which the browser never needs allowing).
func (p *policy) allowsMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	}
	for _, a := range p.methods {
		if a == m {
			return true
		}
	}
	return false
}

// allowsHeaders reports whether every header named in the preflight's
// Access-Control-Request-Headers lines is allowed.
func (p *policy) allowsHeaders(lines []string) bool {
	if p.reflectHdrs {
		return true
	}
	for _, line := range lines {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !p.headers[name] {
				return false
			}
		}
	}
	return true
}

// writer sets an actual request's CORS headers when the answer's header
// is written, whoever writes it (the proxy, the cache, a composite route).
type writer struct {
	http.ResponseWriter
	p      *policy
	origin string
	done   bool
}

func (w *writer) WriteHeader(code int) {
	if !w.done && code >= 200 { // interim answers (103) go as they are
		w.done = true
		w.mark()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.done {
		w.done = true
		w.mark()
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes through http.ResponseController, which also finds a
// flusher behind writers that only Unwrap, and reports its error (a client
// gone) to a streaming caller.
func (w *writer) FlushError() error {
	if !w.done {
		w.done = true
		w.mark()
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *writer) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection (upgrades,
// deadlines).
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *writer) mark() {
	p, h := w.p, w.Header()
	// The route's policy is the gateway's answer: what the upstream says
	// about CORS would grant what the policy does not.
	h.Del(headerAllowOrigin)
	h.Del(headerAllowCredentials)
	h.Del(headerExposeHeaders)
	h.Del(headerAllowMethods)
	h.Del(headerAllowHeaders)
	h.Del(headerMaxAge)
	if !p.anyOrigin {
		vary.Add(h, headerOrigin)
	}
	allow := p.allowOrigin(w.origin)
	if allow == "" {
		return
	}
	h.Set(headerAllowOrigin, allow)
	if p.credentials {
		h.Set(headerAllowCredentials, "true")
	}
	if p.exposeValue != "" {
		h.Set(headerExposeHeaders, p.exposeValue)
	}
}
