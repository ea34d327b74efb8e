package headers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/requestid"
	"github.com/gatescale/gatescale/internal/yamldoc"
)

// Rules are one route's header rules: what is done to the request's
// headers before it goes upstream, and to the answer's before it goes to
// the client.
type Rules struct {
	// Request changes the headers the upstream receives.
	Request *Actions `yaml:"request,omitempty" json:"request,omitempty"`
	// Response changes the headers the client receives.
	Response *Actions `yaml:"response,omitempty" json:"response,omitempty"`
}

// Actions are applied in this order: Remove, then Set, then Add.
type Actions struct {
	// Set replaces each named header with the value (any case; one name
	// once).
	Set map[string]string `yaml:"set,omitempty" json:"set,omitempty"`
	// Add appends the value to each named header, keeping what is there.
	Add map[string]string `yaml:"add,omitempty" json:"add,omitempty"`
	// Remove deletes the named headers.
	Remove []string `yaml:"remove,omitempty" json:"remove,omitempty"`
}

// FieldError is one problem in Rules. Field is the rule's path in its
// serialised form, e.g. "request.set.X-Env" or "response.remove[0]", so
// that a configuration file can point at the line that holds it.
type FieldError struct {
	Field string
	// AtKey says the problem is the header name of a set or add entry,
	// not its value: a file reports it at the key.
	AtKey   bool
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Reserved reports why rules may not name h (any case), or "" if they may:
// hop-by-hop headers belong to one connection, framing headers to the
// body the gateway sends, and the forwarding and request id headers are
// set by the gateway itself (Host by the upstream's preserve_host).
func Reserved(h string) string {
	c := http.CanonicalHeaderKey(h)
	switch c {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Upgrade":
		return "is a hop-by-hop header: it belongs to one connection, not the message"
	case "Transfer-Encoding", "Content-Length":
		return "frames the body: the gateway sets it for the bytes it sends"
	case "Host":
		return "is the gateway's: the upstream's preserve_host decides it"
	case "Forwarded":
		return "is the gateway's: it is set from the client and the trusted proxies"
	case requestid.Header:
		return "is the gateway's: the request id is kept or made by the gateway"
	}
	if strings.HasPrefix(c, "X-Forwarded-") {
		return "is the gateway's: X-Forwarded-* are set from the client and the trusted proxies"
	}
	return ""
}

// Validate reports every problem in r as a *FieldError (joined).
func (r Rules) Validate() error {
	var errs []error
	if r.Request != nil {
		r.Request.validate("request", false, &errs)
	}
	if r.Response != nil {
		r.Response.validate("response", true, &errs)
	}
	return errors.Join(errs...)
}

func (a *Actions) validate(side string, response bool, errs *[]error) {
	add := func(field, format string, args ...any) {
		*errs = append(*errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	// name checks a header name; writes says it is a set or add key.
	name := func(field, h string, writes bool) bool {
		bad := func(format string, args ...any) bool {
			*errs = append(*errs, &FieldError{Field: field, AtKey: writes, Message: fmt.Sprintf(format, args...)})
			return false
		}
		if !httpguts.ValidHeaderFieldName(h) {
			return bad("%q is not a header name", h)
		}
		if why := Reserved(h); why != "" {
			return bad("%s %s", http.CanonicalHeaderKey(h), why)
		}
		if writes && response && strings.HasPrefix(http.CanonicalHeaderKey(h), "Access-Control-") {
			return bad("%s is the route's cors policy's to set (see cors)", http.CanonicalHeaderKey(h))
		}
		return true
	}
	written := map[string]string{} // canonical name -> field
	for _, kind := range []struct {
		key string
		m   map[string]string
	}{{"set", a.Set}, {"add", a.Add}} {
		for _, h := range slices.Sorted(maps.Keys(kind.m)) {
			field := yamldoc.Join(side+"."+kind.key, h)
			if !name(field, h, true) {
				continue
			}
			if !httpguts.ValidHeaderFieldValue(kind.m[h]) {
				add(field, "%q is not a header value (no line breaks or control characters)", kind.m[h])
			}
			c := http.CanonicalHeaderKey(h)
			if other, dup := written[c]; dup {
				*errs = append(*errs, &FieldError{Field: field, AtKey: true,
					Message: fmt.Sprintf("%s is already named at %s: one rule per header", c, other)})
				continue
			}
			written[c] = side + "." + kind.key
		}
	}
	seen := map[string]int{}
	for i, h := range a.Remove {
		field := side + ".remove[" + strconv.Itoa(i) + "]"
		if !name(field, h, false) {
			continue
		}
		c := http.CanonicalHeaderKey(h)
		if j, dup := seen[c]; dup {
			add(field, "%s is already listed (remove[%d])", c, j)
		}
		seen[c] = i
	}
}

// Headers applies a route's Rules. Build it with New; it is safe for
// concurrent use.
type Headers struct {
	request, response *compiled
}

type compiled struct {
	remove   []string
	set, add [][2]string // canonical name, value
}

func compile(a *Actions) *compiled {
	if a == nil || len(a.Set)+len(a.Add)+len(a.Remove) == 0 {
		return nil
	}
	c := &compiled{}
	for _, h := range a.Remove {
		c.remove = append(c.remove, http.CanonicalHeaderKey(h))
	}
	for _, h := range slices.Sorted(maps.Keys(a.Set)) {
		c.set = append(c.set, [2]string{http.CanonicalHeaderKey(h), a.Set[h]})
	}
	for _, h := range slices.Sorted(maps.Keys(a.Add)) {
		c.add = append(c.add, [2]string{http.CanonicalHeaderKey(h), a.Add[h]})
	}
	return c
}

func (c *compiled) apply(h http.Header) {
	for _, k := range c.remove {
		delete(h, k)
	}
	for _, kv := range c.set {
		h[kv[0]] = []string{kv[1]}
	}
	for _, kv := range c.add {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
}

// New validates r and returns its Headers.
func New(r Rules) (*Headers, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &Headers{request: compile(r.Request), response: compile(r.Response)}, nil
}

// Middleware applies the request rules to a copy of the request's headers
// before calling next, and the response rules to the answer's headers when
// next writes them (interim 1xx answers pass as they are).
func (h *Headers) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.request != nil {
			r2 := new(http.Request)
			*r2 = *r
			r2.Header = r.Header.Clone() // the caller's request is not ours to change
			if r2.Header == nil {
				r2.Header = http.Header{}
			}
			h.request.apply(r2.Header)
			r = r2
		}
		if h.response != nil {
			w = &writer{ResponseWriter: w, rules: h.response}
		}
		next.ServeHTTP(w, r)
	})
}

// writer applies the response rules when the answer's header is written.
type writer struct {
	http.ResponseWriter
	rules *compiled
	done  bool
}

func (w *writer) apply() {
	if !w.done {
		w.done = true
		w.rules.apply(w.Header())
	}
}

func (w *writer) WriteHeader(code int) {
	if code >= 200 {
		w.apply()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

// FlushError flushes through http.ResponseController, which also finds a
// flusher behind writers that only Unwrap, and reports its error.
func (w *writer) FlushError() error {
	w.apply()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *writer) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
