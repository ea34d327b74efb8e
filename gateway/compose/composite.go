package compose

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Defaults and bounds of composite routes.
const (
	DefaultMaxItems       = 100
	DefaultItemWorkers    = 8
	DefaultMaxAnswerBytes = 1 << 20
	DefaultMaxBodyBytes   = 1 << 20
	MaxCalls              = 64
)

// Composite is a composite route's declaration: its calls. The zero values
// of the optional fields take the defaults above.
type Composite struct {
	// Calls in declaration order; the order of the merged answer's members
	// and of the first-wins rule of top-level merges.
	Calls []Call `yaml:"calls" json:"calls"`
	// MaxAnswerBytes bounds each call's answer (default 1 MiB).
	MaxAnswerBytes int64 `yaml:"max_answer_bytes,omitempty" json:"max_answer_bytes,omitempty"`
	// MaxBodyBytes bounds the client's body that calls with ForwardBody
	// send (default 1 MiB): it is held in memory to be sent to each of
	// them, so it is bounded even where the route sets no max_body_bytes.
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty" json:"max_body_bytes,omitempty"`
}

// Call is one backend call of a composite route.
type Call struct {
	// Name identifies the call in templates ({NAME.field}), groups,
	// _partial, metrics and errors. Required, unique; not query, header or
	// item.
	Name string `yaml:"name" json:"name"`
	// Upstream is the upstream service called. Required.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Method is the HTTP method (default GET).
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// Path is the path template, e.g. /customers/{order.customer_id}.
	Path string `yaml:"path" json:"path"`
	// Query and Headers are templates too.
	Query   map[string]string `yaml:"query,omitempty" json:"query,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// ForwardBody sends the client's request body with the call.
	ForwardBody bool `yaml:"forward_body,omitempty" json:"forward_body,omitempty"`
	// ForEach runs the call once per element of an array in an earlier
	// answer ("order.items"); {item...} names the element and the answers
	// are collected into an array in the array's order.
	ForEach string `yaml:"for_each,omitempty" json:"for_each,omitempty"`
	// MaxItems bounds ForEach's array (default 100: a longer array fails
	// the call); Workers bounds how many of its calls run at once (default 8).
	MaxItems int `yaml:"max_items,omitempty" json:"max_items,omitempty"`
	Workers  int `yaml:"workers,omitempty" json:"workers,omitempty"`
	// Group places the answer under this key of the merged document; empty
	// merges an object answer's members at the top level (the first call to
	// set a member keeps it) and places any other answer under Name.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Pick keeps a sub-document of the answer ("data.items").
	Pick string `yaml:"pick,omitempty" json:"pick,omitempty"`
	// Hidden calls feed others but are left out of the answer.
	Hidden bool `yaml:"hidden,omitempty" json:"hidden,omitempty"`
	// Optional calls may fail: the answer is sent without them and says so.
	// A failing required call (the default) fails the request.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
	// Timeout bounds the call (and each ForEach call) within the route's
	// deadline; a Go duration string.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// FieldError is one problem with a field of a Composite: Field is its path
// below the composite (calls[1].path).
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks c for a route whose path pattern is routePath (its {param}
// names are what templates may use) and whose calls may name the upstreams
// in upstreams (nil: not checked). It finds unknown calls, parameters and
// upstreams, cycles, bad templates and bounds.
func (c *Composite) Validate(routePath string, upstreams []string) []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.Calls) == 0 {
		bad("calls", "at least one call is required")
	}
	if len(c.Calls) > MaxCalls {
		bad("calls", "%d calls: at most %d", len(c.Calls), MaxCalls)
	}
	if c.MaxAnswerBytes < 0 {
		bad("max_answer_bytes", "must not be negative")
	}
	if c.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must not be negative")
	}
	params := PathParams(routePath)
	index := map[string]int{}
	for i, call := range c.Calls {
		p := "calls[" + strconv.Itoa(i) + "]"
		switch {
		case call.Name == "":
			bad(p+".name", "is required")
		case call.Name == srcQuery || call.Name == srcHeader || call.Name == srcItem:
			bad(p+".name", "%q is reserved for templates ({%s.NAME})", call.Name, call.Name)
		case strings.ContainsAny(call.Name, ".{} "):
			bad(p+".name", "%q must not contain dots, braces or spaces", call.Name)
		default:
			if j, dup := index[call.Name]; dup {
				bad(p+".name", "%q is already the name of calls[%d]", call.Name, j)
			} else {
				index[call.Name] = i
			}
		}
	}
	deps := make([][]int, len(c.Calls))
	groups := map[string]int{}
	for i, call := range c.Calls {
		p := "calls[" + strconv.Itoa(i) + "]"
		switch {
		case call.Upstream == "":
			bad(p+".upstream", "is required")
		case upstreams != nil && !slices.Contains(upstreams, call.Upstream):
			bad(p+".upstream", "%q is not defined", call.Upstream)
		}
		if m := strings.ToUpper(call.Method); m != "" && !slices.Contains(methods, m) {
			bad(p+".method", "%q is not a method (%s)", call.Method, strings.Join(methods, ", "))
		}
		if !strings.HasPrefix(call.Path, "/") {
			bad(p+".path", "%q must begin with /", call.Path)
		}
		if strings.ContainsAny(call.Path, "?#") {
			// It would be sent escaped, as part of the path (/search%3Fq=x).
			bad(p+".path", "%q must not contain ? or #: put the query parameters in query", call.Path)
		}
		if call.Timeout != "" {
			if d, err := time.ParseDuration(call.Timeout); err != nil || d <= 0 {
				bad(p+".timeout", "%q is not a positive duration (e.g. \"2s\")", call.Timeout)
			}
		}
		if call.MaxItems < 0 {
			bad(p+".max_items", "must not be negative")
		}
		if call.Workers < 0 {
			bad(p+".workers", "must not be negative")
		}
		if (call.MaxItems > 0 || call.Workers > 0) && call.ForEach == "" {
			bad(p+".for_each", "max_items and workers are only used with for_each")
		}
		if _, err := parsePick(call.Pick); err != nil {
			bad(p+".pick", "%v", err)
		}
		if call.Hidden && call.Group != "" {
			bad(p+".group", "a hidden call is left out of the answer: group is not used")
		}
		if call.Group == "_partial" {
			bad(p+".group", "_partial is where the answer lists missing parts")
		}
		if call.Group != "" {
			// The later answer would replace the earlier one.
			if j, dup := groups[call.Group]; dup {
				bad(p+".group", "%q is already the group of calls[%d]", call.Group, j)
			} else {
				groups[call.Group] = i
			}
			if j, named := index[call.Group]; named && j != i && !c.Calls[j].Hidden && c.Calls[j].Group == "" {
				bad(p+".group", "%q is the name of calls[%d], under which its answer goes when it is not an object", call.Group, j)
			}
		}
		use := func(field string, r ref) {
			switch r.source {
			case srcQuery, srcHeader:
				if len(r.path) != 1 {
					bad(field, "{%s} names one %s: {%s.NAME}", r, r.source, r.source)
				}
			case srcItem:
				if call.ForEach == "" {
					bad(field, "{%s} is only defined with for_each", r)
				}
			default:
				j, isCall := index[r.source]
				switch {
				case isCall && j == i:
					bad(field, "{%s}: a call cannot use its own answer", r)
				case isCall:
					if !slices.Contains(deps[i], j) {
						deps[i] = append(deps[i], j)
					}
				case len(r.path) == 0 && params[r.source]:
				case len(r.path) == 0:
					bad(field, "{%s} is neither a path parameter of %q nor a call", r, routePath)
				default:
					bad(field, "{%s}: %q is not a call (%s)", r, r.source, callList(c.Calls))
				}
			}
		}
		check := func(field, text string) {
			t, err := parseTemplate(text)
			if err != nil {
				bad(field, "%v", err)
				return
			}
			for _, r := range t.refs() {
				use(field, r)
			}
		}
		check(p+".path", call.Path)
		for _, k := range slices.Sorted(maps.Keys(call.Query)) {
			check(p+".query."+k, call.Query[k])
		}
		for _, k := range slices.Sorted(maps.Keys(call.Headers)) {
			if !httpguts.ValidHeaderFieldName(k) {
				bad(p+".headers."+k, "%q is not a header name", k)
			}
			check(p+".headers."+k, call.Headers[k])
		}
		if call.ForEach != "" {
			r, err := parseRef(call.ForEach)
			switch {
			case err != nil:
				bad(p+".for_each", "%v", err)
			case r.source == srcQuery || r.source == srcHeader || r.source == srcItem:
				bad(p+".for_each", "%q must name an earlier call's array (CALL.field)", call.ForEach)
			default:
				use(p+".for_each", r)
			}
		}
	}
	if cyc := findCycle(deps); cyc != nil {
		names := make([]string, len(cyc))
		for k, i := range cyc {
			names[k] = c.Calls[i].Name
		}
		bad("calls["+strconv.Itoa(cyc[0])+"]", "calls depend on each other in a cycle: %s", strings.Join(names, " → "))
	}
	return errs
}

var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

func callList(calls []Call) string {
	var names []string
	for _, c := range calls {
		if c.Name != "" {
			names = append(names, c.Name)
		}
	}
	return "calls: " + strings.Join(names, ", ")
}

// findCycle returns the calls of one dependency cycle, the first repeated
// at the end, or nil.
func findCycle(deps [][]int) []int {
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(deps))
	var stack []int
	var found []int
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onStack
		stack = append(stack, i)
		for _, j := range deps[i] {
			switch state[j] {
			case onStack:
				k := slices.Index(stack, j)
				found = append(slices.Clone(stack[k:]), j)
				return true
			case unvisited:
				if visit(j) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return false
	}
	for i := range deps {
		if state[i] == unvisited && visit(i) {
			return found
		}
	}
	return nil
}

// PathParams returns the {name} parameters of a chi pattern: what a
// template may name, and what a route's rewrite may use.
func PathParams(pattern string) map[string]bool {
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
	return out
}
