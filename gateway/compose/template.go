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
// number's exact decimal value without an exponent: 1e3 is "1000", 0.1
// stays "0.1", and 9007199254740993.0 is "9007199254740993" — the digits
// are moved, never rounded through float64, so an id written with a
// fraction or an exponent still names its record.
func numberText(n json.Number) string {
	s := strings.TrimPrefix(string(n), "-")
	neg := len(s) < len(n)
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return string(n)
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponentShift || e < -maxExponentShift {
			return string(n) // written out it would be absurdly long: still a number
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp // how many of digits come before the point
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	// Trailing zeros are either the fraction's (dropped) or the integer's
	// (put back as padding below).
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return "0"
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if neg {
		out = "-" + out
	}
	return out
}

// maxExponentShift bounds how far numberText moves a decimal point: 1e400
// is 401 digits, 1e1000000000 is sent as written.
const maxExponentShift = 400
