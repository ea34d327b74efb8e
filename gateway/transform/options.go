package transform

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/units"
)

// FieldError is one problem in Rules or CompressOptions. Field is the
// option's path in its serialised (snake_case) form, e.g.
// "client_types[1].allow[0]", so that a configuration file can point at
// the line that holds it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// errs collects FieldErrors; err joins them (nil when there are none), so
// errors.As finds the first and Unwrap() []error lists them all.
type errs []error

func (l *errs) add(field, format string, args ...any) {
	*l = append(*l, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l errs) err() error { return errors.Join(l...) }

// DefaultMaxBodySize bounds the JSON answers Rules transforms, by default.
const DefaultMaxBodySize = 1 << 20

// Rules are one route's result processing: how the client type of a
// request is chosen, and what each client type gets.
//
// The client type comes from the first of these that names a declared
// type: the Header, the Query parameter, the first UserAgent rule that
// matches, Default. With none, the answer passes untouched.
type Rules struct {
	// Header is a request header whose value names the client type, e.g.
	// "X-Client-Type".
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	// Query is a query parameter whose value names the client type, e.g.
	// "client" for ?client=mobile.
	Query string `json:"query,omitempty" yaml:"query,omitempty"`
	// UserAgent classifies the User-Agent header, first match wins (see
	// DefaultUserAgentRules).
	UserAgent []UserAgentRule `json:"user_agent,omitempty" yaml:"user_agent,omitempty"`
	// Default is the client type of requests nothing else classified.
	Default string `json:"default,omitempty" yaml:"default,omitempty"`
	// ClientTypes are the declared client types. Names are matched
	// without regard to case.
	ClientTypes []ClientType `json:"client_types" yaml:"client_types"`
	// MaxBodySize bounds the JSON answers that are transformed: a larger
	// one gets 502, because passing it through untouched would leak what
	// the client type's field lists remove. Default DefaultMaxBodySize.
	MaxBodySize units.Size `json:"max_body_size,omitempty" yaml:"max_body_size,omitempty"`
}

// UserAgentRule classifies a User-Agent: it matches when the header holds
// any of Contains (ignoring case) or matches Regexp (RE2 syntax).
type UserAgentRule struct {
	ClientType string   `json:"client_type" yaml:"client_type"`
	Contains   []string `json:"contains,omitempty" yaml:"contains,omitempty"`
	Regexp     string   `json:"regexp,omitempty" yaml:"regexp,omitempty"`
}

// DefaultUserAgentRules are the classes most routes need, for client types
// named "mobile" and "web": "Mobi" is the token the browser vendors
// recommend looking for (MDN, "Browser detection using the user agent"),
// Android and iPhone/iPad cover native apps' HTTP libraries that name their
// platform, and every browser sends "Mozilla". Declare both types to use
// them.
func DefaultUserAgentRules() []UserAgentRule {
	return []UserAgentRule{
		{ClientType: "mobile", Contains: []string{"Mobi", "Android", "iPhone", "iPad"}},
		{ClientType: "web", Contains: []string{"Mozilla"}},
	}
}

// ClientType is what one kind of client gets. The steps run in this order,
// each on the result of the previous one: Pick, Allow, Deny, Rename,
// Flatten, Wrap. Paths in Pick, Allow, Deny and Rename name fields of the
// upstream's answer; Flatten's name them after renaming. A client type
// with no steps gets the answer as it is.
//
// A path is field names joined by dots; "[]" after a name applies the rest
// of the path to each element of that array: "user.name", "items[].id",
// "[].id" for a top-level array. A backslash escapes ".", "[", "]" or "\"
// in a name: "a\.b" is the field "a.b".
type ClientType struct {
	Name string `json:"name" yaml:"name"`
	// Pick keeps only some items of arrays.
	Pick []Pick `json:"pick,omitempty" yaml:"pick,omitempty"`
	// Allow keeps only these fields (and the objects on their way); the
	// rest is removed. Empty: everything is kept.
	Allow []string `json:"allow,omitempty" yaml:"allow,omitempty"`
	// Deny removes these fields.
	Deny []string `json:"deny,omitempty" yaml:"deny,omitempty"`
	// Rename maps a field's path to its new name (a name, not a path: the
	// field stays where it is). A field of that name already there is
	// replaced.
	Rename map[string]string `json:"rename,omitempty" yaml:"rename,omitempty"`
	// Flatten lifts the members of objects into their parent object.
	Flatten []Flatten `json:"flatten,omitempty" yaml:"flatten,omitempty"`
	// Wrap puts the whole document under this key: {"<wrap>": document}.
	Wrap string `json:"wrap,omitempty" yaml:"wrap,omitempty"`
}

// Pick keeps some items of the array at Path ("" for a top-level array):
// the First ones, or those at Indexes (in that order; negative indexes
// count from the end, -1 is the last; missing ones are skipped). Exactly
// one of First and Indexes is set.
type Pick struct {
	Path    string `json:"path" yaml:"path"`
	First   int    `json:"first,omitempty" yaml:"first,omitempty"`
	Indexes []int  `json:"indexes,omitempty" yaml:"indexes,omitempty"`
}

// Flatten lifts the members of the object at Path into the object that
// holds it, each name prefixed with Prefix: {"user": {"id": 1}} with
// Path "user" and Prefix "user_" becomes {"user_id": 1}. A member the
// parent already has keeps its value; a value at Path that is not an
// object is left alone.
type Flatten struct {
	Path   string `json:"path" yaml:"path"`
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
}

// Validate reports every problem in r as a *FieldError.
func (r Rules) Validate() error {
	var l errs
	r.validate(&l)
	return l.err()
}

func (r Rules) validate(l *errs) {
	if r.Header != "" && !httpguts.ValidHeaderFieldName(r.Header) {
		l.add("header", "%q is not a valid header name", r.Header)
	}
	if r.MaxBodySize < 0 {
		l.add("max_body_size", "must be positive (omit it for the default %d)", DefaultMaxBodySize)
	}
	if len(r.ClientTypes) == 0 {
		l.add("client_types", "must declare at least one client type")
	}
	names := map[string]int{}
	for i, ct := range r.ClientTypes {
		ct.validate(l, fmt.Sprintf("client_types[%d]", i))
		key := strings.ToLower(ct.Name)
		if j, dup := names[key]; dup && ct.Name != "" {
			l.add(fmt.Sprintf("client_types[%d].name", i), "%q is already declared by client_types[%d]", ct.Name, j)
		} else {
			names[key] = i
		}
	}
	declared := func(field, name string) {
		if _, ok := names[strings.ToLower(name)]; !ok {
			l.add(field, "%q is not a declared client type", name)
		}
	}
	if r.Default != "" {
		declared("default", r.Default)
	}
	for i, u := range r.UserAgent {
		field := fmt.Sprintf("user_agent[%d]", i)
		declared(field+".client_type", u.ClientType)
		if len(u.Contains) == 0 && u.Regexp == "" {
			l.add(field, "needs contains or regexp")
		}
		for j, c := range u.Contains {
			if c == "" {
				l.add(fmt.Sprintf("%s.contains[%d]", field, j), "must not be empty")
			}
		}
		if u.Regexp != "" {
			if _, err := regexp.Compile(u.Regexp); err != nil {
				l.add(field+".regexp", "%v", err)
			}
		}
	}
}

func (ct ClientType) validate(l *errs, at string) {
	if ct.Name == "" {
		l.add(at+".name", "must not be empty")
	}
	path := func(field, s string, root bool) {
		if s == "" && root {
			return
		}
		if _, err := ParsePath(s); err != nil {
			l.add(field, "%v", err)
		}
	}
	for i, p := range ct.Pick {
		field := fmt.Sprintf("%s.pick[%d]", at, i)
		path(field+".path", p.Path, true)
		switch {
		case p.First < 0:
			l.add(field+".first", "must be positive")
		case p.First > 0 && len(p.Indexes) > 0:
			l.add(field, "set first or indexes, not both")
		case p.First == 0 && len(p.Indexes) == 0:
			l.add(field, "needs first or indexes")
		}
	}
	for i, s := range ct.Allow {
		path(fmt.Sprintf("%s.allow[%d]", at, i), s, false)
	}
	for i, s := range ct.Deny {
		path(fmt.Sprintf("%s.deny[%d]", at, i), s, false)
	}
	for _, from := range slices.Sorted(maps.Keys(ct.Rename)) {
		to := ct.Rename[from]
		field := fmt.Sprintf("%s.rename[%q]", at, from)
		path(field, from, false)
		if to == "" {
			l.add(field, "the new name must not be empty")
		}
	}
	for i, f := range ct.Flatten {
		path(fmt.Sprintf("%s.flatten[%d].path", at, i), f.Path, false)
	}
}

// Defaults of CompressOptions.
const (
	DefaultMinSize   = 1024
	DefaultGzipLevel = 5 // most of level 9's ratio at a fraction of its CPU
	DefaultZstdLevel = 3 // zstd's own default
)

// DefaultCompressTypes are the media types compressed by default: text and
// the structured formats. Images, video, archives and fonts are already
// compressed; text/event-stream is left alone so events are not held in
// an encoder's buffer.
var DefaultCompressTypes = []string{
	"text/html", "text/plain", "text/css", "text/csv", "text/xml", "text/javascript", "text/markdown",
	"application/json", "application/javascript", "application/xml", "application/x-ndjson",
	"application/wasm", "image/svg+xml", "*/*+json", "*/*+xml",
}

// Encodings the Compressor can produce.
const (
	Gzip = "gzip"
	Zstd = "zstd"
)

// CompressOptions configure NewCompressor.
type CompressOptions struct {
	// MinSize: answers smaller than this many bytes are sent as they are;
	// compressing them gains less than the header costs. Default
	// DefaultMinSize.
	MinSize units.Size `json:"min_size,omitempty" yaml:"min_size,omitempty"`
	// Types are the media types compressed: "type/subtype", "type/*" or
	// "*/*+suffix". Default DefaultCompressTypes.
	Types []string `json:"types,omitempty" yaml:"types,omitempty"`
	// Encodings are the codings offered, best first: when a client
	// accepts several with the same q-value, the first listed wins.
	// Default ["zstd", "gzip"].
	Encodings []string `json:"encodings,omitempty" yaml:"encodings,omitempty"`
	// GzipLevel is 1 (fastest) to 9 (smallest). Default DefaultGzipLevel.
	GzipLevel int `json:"gzip_level,omitempty" yaml:"gzip_level,omitempty"`
	// ZstdLevel is 1 (fastest) to 22 (smallest), mapped onto the levels of
	// klauspost/compress/zstd. Default DefaultZstdLevel.
	ZstdLevel int `json:"zstd_level,omitempty" yaml:"zstd_level,omitempty"`
}

// Validate reports every problem in o as a *FieldError.
func (o CompressOptions) Validate() error {
	var l errs
	if o.MinSize < 0 {
		l.add("min_size", "must be positive (omit it for the default %d)", DefaultMinSize)
	}
	for i, t := range o.Types {
		if _, err := parseTypePattern(t); err != nil {
			l.add(fmt.Sprintf("types[%d]", i), "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, e := range o.Encodings {
		field := fmt.Sprintf("encodings[%d]", i)
		switch {
		case e != Gzip && e != Zstd:
			l.add(field, "must be %q or %q, not %q", Gzip, Zstd, e)
		case seen[e]:
			l.add(field, "%q is listed twice", e)
		}
		seen[e] = true
	}
	if o.GzipLevel < 0 || o.GzipLevel > 9 {
		l.add("gzip_level", "must be between 1 and 9")
	}
	if o.ZstdLevel < 0 || o.ZstdLevel > 22 {
		l.add("zstd_level", "must be between 1 and 22")
	}
	return l.err()
}

// typePattern is a compiled CompressOptions.Types entry.
type typePattern struct {
	typ, sub, suffix string // suffix set for "*/*+suffix"; sub "*" for "type/*"
}

func parseTypePattern(s string) (typePattern, error) {
	t, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "/")
	switch {
	case !ok || t == "" || sub == "":
		return typePattern{}, fmt.Errorf("%q is not a media type (type/subtype, type/* or */*+suffix)", s)
	case t == "*" && strings.HasPrefix(sub, "*+") && len(sub) > 2:
		return typePattern{suffix: sub[1:]}, nil
	case t == "*" || strings.Contains(t, "*") || (strings.Contains(sub, "*") && sub != "*"):
		return typePattern{}, fmt.Errorf("%q: wildcards are type/* or */*+suffix only", s)
	}
	return typePattern{typ: t, sub: sub}, nil
}

func (p typePattern) match(mediaType string) bool {
	t, sub, _ := strings.Cut(mediaType, "/")
	switch {
	case p.suffix != "":
		return strings.HasSuffix(sub, p.suffix)
	case p.sub == "*":
		return t == p.typ
	}
	return t == p.typ && sub == p.sub
}
