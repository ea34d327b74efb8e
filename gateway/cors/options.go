package cors

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/units"
)

// Options are one route's CORS policy. The zero value allows nothing: at
// least one origin is required.
type Options struct {
	// AllowOrigins are the origins allowed to read the route's answers:
	// "*", exact origins ("https://app.example.com") or wildcard
	// subdomains ("https://*.example.com"); see OriginPattern.
	AllowOrigins []string `yaml:"allow_origins" json:"allow_origins"`
	// AllowMethods are the methods a preflight may ask for. Default: on a
	// route of a route table, the route's methods; otherwise GET, HEAD,
	// POST (DefaultMethods).
	AllowMethods []string `yaml:"allow_methods,omitempty" json:"allow_methods,omitempty"`
	// AllowHeaders are the request headers a preflight may ask for; "*"
	// allows whatever the preflight asks (its Access-Control-Request-Headers
	// are reflected). Default: none beyond the CORS-safelisted ones.
	AllowHeaders []string `yaml:"allow_headers,omitempty" json:"allow_headers,omitempty"`
	// ExposeHeaders are the response headers scripts may read besides the
	// CORS-safelisted ones (Access-Control-Expose-Headers).
	ExposeHeaders []string `yaml:"expose_headers,omitempty" json:"expose_headers,omitempty"`
	// AllowCredentials lets requests with cookies or HTTP authentication
	// read the answers (Access-Control-Allow-Credentials: true). It cannot
	// be combined with the origin "*" (the Fetch standard forbids it).
	AllowCredentials bool `yaml:"allow_credentials,omitempty" json:"allow_credentials,omitempty"`
	// MaxAge is how long a browser may keep a preflight's answer, in whole
	// seconds (Access-Control-Max-Age; browsers cap it, Chromium at 2h).
	// 0, the default, sends none: the browser's default (5s) applies.
	MaxAge units.Duration `yaml:"max_age,omitempty" json:"max_age,omitempty"`
	// AllowPrivateNetwork answers a Private Network Access preflight
	// (Access-Control-Request-Private-Network: true) with
	// Access-Control-Allow-Private-Network: true, letting public pages
	// reach a gateway on a private network.
	AllowPrivateNetwork bool `yaml:"allow_private_network,omitempty" json:"allow_private_network,omitempty"`
	// Disabled turns CORS off, alone: on a route, it keeps the top-level
	// cors off the route (an upstream that does CORS itself), whose
	// answers and preflights then pass as any request.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// Enabled reports whether o is a policy: not nil, not Disabled.
func (o *Options) Enabled() bool { return o != nil && !o.Disabled }

// DefaultMethods are the methods allowed when Options.AllowMethods is
// empty and New is called directly (a route table gives the route's
// methods instead): the CORS-safelisted ones, which need no preflight.
var DefaultMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// MaxMaxAge bounds Options.MaxAge: a day, Firefox's cap (Chromium's is 2h).
const MaxMaxAge = 24 * time.Hour

// FieldError is one problem in Options. Field is the option's path in its
// serialised (snake_case) form, e.g. "allow_origins[1]", so that a
// configuration file can point at the line that holds it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate reports every problem in o as a *FieldError (joined).
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if o.Disabled {
		if !reflect.DeepEqual(o, Options{Disabled: true}) {
			add("disabled", "turns CORS off: no other key goes with it")
		}
		return errors.Join(errs...)
	}
	if len(o.AllowOrigins) == 0 {
		add("allow_origins", `at least one origin is required ("*", https://app.example.com or https://*.example.com)`)
	}
	seen := map[string]int{}
	for i, s := range o.AllowOrigins {
		f := "allow_origins[" + strconv.Itoa(i) + "]"
		p, err := ParseOrigin(s)
		if err != nil {
			add(f, "%v", err)
			continue
		}
		if j, dup := seen[p.String()]; dup {
			add(f, "%s is already listed (allow_origins[%d])", p, j)
		}
		seen[p.String()] = i
		if p.Any() && o.AllowCredentials {
			add(f, `"*" cannot be combined with allow_credentials: browsers refuse a wildcard origin on credentialed requests (Fetch standard); list the origins`)
		}
		if p.Any() && len(o.AllowOrigins) > 1 {
			add(f, `"*" allows every origin: list it alone`)
		}
	}
	for i, m := range o.AllowMethods {
		if !httpguts.ValidHeaderFieldName(m) { // a method is a token
			add("allow_methods["+strconv.Itoa(i)+"]", "%q is not a method", m)
		} else if m == "*" {
			add("allow_methods["+strconv.Itoa(i)+"]", `"*" is not supported: list the methods`)
		}
	}
	for i, h := range o.AllowHeaders {
		if h == "*" {
			if len(o.AllowHeaders) > 1 {
				add("allow_headers["+strconv.Itoa(i)+"]", `"*" allows every requested header: list it alone`)
			}
			continue
		}
		if !httpguts.ValidHeaderFieldName(h) {
			add("allow_headers["+strconv.Itoa(i)+"]", "%q is not a header name", h)
		}
	}
	for i, h := range o.ExposeHeaders {
		f := "expose_headers[" + strconv.Itoa(i) + "]"
		switch {
		case h == "*" && o.AllowCredentials:
			add(f, `"*" is read as a header named "*" on credentialed requests (Fetch standard): list the headers`)
		case h == "*":
		case !httpguts.ValidHeaderFieldName(h):
			add(f, "%q is not a header name", h)
		}
	}
	if d := o.MaxAge.Std(); d < 0 || d > MaxMaxAge || d%time.Second != 0 {
		add("max_age", "must be whole seconds from 0 to %v (browsers cap it: Chromium at 2h)", MaxMaxAge)
	}
	return errors.Join(errs...)
}

// policy is Options compiled for serving.
type policy struct {
	off            bool // Options.Disabled
	origins        []OriginPattern
	anyOrigin      bool
	methods        []string // upper case, canonical
	methodsValue   string
	headers        map[string]bool // lower case
	headersValue   string
	reflectHdrs    bool
	exposeValue    string
	credentials    bool
	maxAge         string
	privateNetwork bool
}

func compile(o Options) (*policy, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p := &policy{off: o.Disabled, credentials: o.AllowCredentials, privateNetwork: o.AllowPrivateNetwork}
	for _, s := range o.AllowOrigins {
		op, _ := ParseOrigin(s)
		p.anyOrigin = p.anyOrigin || op.Any()
		p.origins = append(p.origins, op)
	}
	ms := o.AllowMethods
	if len(ms) == 0 {
		ms = DefaultMethods
	}
	for _, m := range ms {
		// Methods are case-sensitive, but browsers upper-case the standard
		// ones, so "get" in a file means GET.
		if up := strings.ToUpper(m); isStandardMethod(up) {
			m = up
		}
		if !slices.Contains(p.methods, m) {
			p.methods = append(p.methods, m)
		}
	}
	p.methodsValue = strings.Join(p.methods, ", ")
	p.headers = map[string]bool{}
	var hs []string
	for _, h := range o.AllowHeaders {
		if h == "*" {
			p.reflectHdrs = true
			continue
		}
		p.headers[strings.ToLower(h)] = true
		hs = append(hs, http.CanonicalHeaderKey(h))
	}
	p.headersValue = strings.Join(hs, ", ")
	var ex []string
	for _, h := range o.ExposeHeaders {
		if h != "*" {
			h = http.CanonicalHeaderKey(h)
		}
		ex = append(ex, h)
	}
	p.exposeValue = strings.Join(ex, ", ")
	if s := int64(o.MaxAge.Std() / time.Second); s > 0 {
		p.maxAge = strconv.FormatInt(s, 10)
	}
	return p, nil
}

func isStandardMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when origin is not allowed.
func (p *policy) allowOrigin(origin string) string {
	if p.anyOrigin {
		// Every answer alike, a request without Origin's too: the answer
		// says no Vary: Origin, so a shared cache may hand it to any origin.
		// Never with credentials: Validate refuses that.
		return "*"
	}
	if origin == "" {
		return ""
	}
	for _, op := range p.origins {
		if op.Match(origin) {
			return origin
		}
	}
	return ""
}
