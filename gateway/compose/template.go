package compose

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A template is text with {reference} holes.
type template struct {
	parts []part
}

type part struct {
	literal string
	ref     *ref // nil for a literal
}

// ref is one {reference}: a source and a field path within it.
type ref struct {
	source string   // a path parameter, "query", "header", "item", or a call's name
	path   []string // field names and array indexes below the source
}

func (r ref) String() string {
	return strings.Join(append([]string{r.source}, r.path...), ".")
}

// Reserved sources; calls may not take these names.
const (
	srcQuery  = "query"
	srcHeader = "header"
	srcItem   = "item"
)

// parseTemplate reads "text {ref} text". A ref is NAME or NAME.path, where
// path segments are field names or array indexes: {order.items.0.id}.
// Braces cannot be escaped: no path, query or header value of an HTTP call
// needs a literal brace.
func parseTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			t.parts = append(t.parts, part{literal: s})
			break
		}
		if s[i] == '}' {
			return template{}, fmt.Errorf("unmatched } at %d", i)
		}
		if i > 0 {
			t.parts = append(t.parts, part{literal: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return template{}, fmt.Errorf("unclosed {")
		}
		r, err := parseRef(s[i+1 : i+j])
		if err != nil {
			return template{}, err
		}
		t.parts = append(t.parts, part{ref: &r})
		s = s[i+j+1:]
	}
	return t, nil
}

func parseRef(s string) (ref, error) {
	if s == "" {
		return ref{}, fmt.Errorf("empty {}")
	}
	segs := strings.Split(s, ".")
	for _, seg := range segs {
		if seg == "" {
			return ref{}, fmt.Errorf("{%s}: empty field name", s)
		}
		for _, c := range seg {
			if c == '{' || c == ' ' || c < ' ' {
				return ref{}, fmt.Errorf("{%s}: %q is not a field name", s, seg)
			}
		}
	}
	return ref{source: segs[0], path: segs[1:]}, nil
}

// refs returns the template's references.
func (t template) refs() []ref {
	var out []ref
	for _, p := range t.parts {
		if p.ref != nil {
			out = append(out, *p.ref)
		}
	}
	return out
}

// lookup follows path into a decoded JSON value.
func lookup(v any, path []string) (any, bool) {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// scalarText renders a JSON value for a path, query or header: strings as
// they are, numbers without exponent noise, booleans; objects and arrays are
// not substituted.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return numberText(x), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", false
	}
	return "", false
}

// parsePick reads a pick expression: a field path ("data.items"), "" for the
// whole answer.
func parsePick(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	r, err := parseRef(s)
	if err != nil {
		return nil, err
	}
	return append([]string{r.source}, r.path...), nil
}

// numberText is an integer's own text (exact at any size) and any other
// number's value without an exponent: 1e3 is "1000", 0.1 stays "0.1".
func numberText(n json.Number) string {
	digits := strings.TrimPrefix(string(n), "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		return string(n)
	}
	f, err := n.Float64()
	if err != nil {
		return string(n) // out of float64's range: the text is still a number
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
