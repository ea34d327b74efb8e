package transform

import (
	"slices"
	"strings"

	"github.com/gatescale/gatescale/internal/jsonvalue"
)

// shape is a compiled ClientType.
type shape struct {
	picks   []pick
	allow   *allowNode // nil: keep everything
	deny    []Path
	renames []rename // deepest first
	flatten []flattenRule
	wrap    string
}

type pick struct {
	path    Path // nil: the document itself
	first   int
	indexes []int
}

type rename struct {
	path Path
	to   string
}

type flattenRule struct {
	path   Path
	prefix string
}

// allowNode is one level of the allow-list: whole keeps the value as it
// is; otherwise members filter an object's fields and elems an array's
// elements.
type allowNode struct {
	whole   bool
	members map[string]*allowNode
	elems   *allowNode
}

// compile turns a validated ClientType into a shape; nil when it has no
// steps (the answer passes as it is).
func compile(ct ClientType) *shape {
	s := &shape{wrap: ct.Wrap}
	for _, p := range ct.Pick {
		pk := pick{first: p.First, indexes: p.Indexes}
		if p.Path != "" {
			pk.path, _ = ParsePath(p.Path)
		}
		s.picks = append(s.picks, pk)
	}
	if len(ct.Allow) > 0 {
		s.allow = &allowNode{}
		for _, a := range ct.Allow {
			p, _ := ParsePath(a)
			s.allow.add(p)
		}
	}
	for _, d := range ct.Deny {
		p, _ := ParsePath(d)
		s.deny = append(s.deny, p)
	}
	for from, to := range ct.Rename {
		p, _ := ParsePath(from)
		s.renames = append(s.renames, rename{p, to})
	}
	// Deepest first, so that renaming "a" does not hide "a.b" from its own
	// rename; then by path, for a fixed order.
	slices.SortFunc(s.renames, func(a, b rename) int {
		if len(a.path) != len(b.path) {
			return len(b.path) - len(a.path)
		}
		return strings.Compare(a.path.String(), b.path.String())
	})
	for _, f := range ct.Flatten {
		p, _ := ParsePath(f.Path)
		s.flatten = append(s.flatten, flattenRule{p, f.Prefix})
	}
	if len(s.picks) == 0 && s.allow == nil && len(s.deny) == 0 && len(s.renames) == 0 && len(s.flatten) == 0 && s.wrap == "" {
		return nil
	}
	return s
}

func (n *allowNode) add(p Path) {
	if n.whole {
		return
	}
	if len(p) == 0 {
		*n = allowNode{whole: true}
		return
	}
	seg := p[0]
	next := n
	if seg.Name != "" || !seg.Each {
		if n.members == nil {
			n.members = map[string]*allowNode{}
		}
		if n.members[seg.Name] == nil {
			n.members[seg.Name] = &allowNode{}
		}
		next = n.members[seg.Name]
	}
	if seg.Each {
		if next.whole {
			return
		}
		if next.elems == nil {
			next.elems = &allowNode{}
		}
		next = next.elems
	}
	next.add(p[1:])
}

// filter returns what of v the allow-list keeps, and false if nothing.
// Values that are not shaped as the paths expect (a scalar where an object
// was named) are dropped: an allow-list lets only what it names through.
func (n *allowNode) filter(v any) (any, bool) {
	if n.whole {
		return v, true
	}
	switch t := v.(type) {
	case map[string]any:
		if n.members == nil {
			return nil, false
		}
		for k, child := range t {
			sub := n.members[k]
			if sub == nil {
				delete(t, k)
				continue
			}
			if kept, ok := sub.filter(child); ok {
				t[k] = kept
			} else {
				delete(t, k)
			}
		}
		return t, true
	case []any:
		if n.elems == nil {
			return nil, false
		}
		out := t[:0]
		for _, e := range t {
			if kept, ok := n.elems.filter(e); ok {
				out = append(out, kept)
			}
		}
		return out, true
	}
	return nil, false
}

// visit calls fn for every object that holds the last segment of p in v,
// with that segment's name. Values not shaped as p expects are skipped.
func visit(v any, p Path, fn func(obj map[string]any, name string)) {
	seg := p[0]
	if seg.Name == "" && seg.Each { // top-level array
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				visit(e, p[1:], fn)
			}
		}
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	if len(p) == 1 {
		fn(obj, seg.Name)
		return
	}
	child, ok := obj[seg.Name]
	if !ok {
		return
	}
	if !seg.Each {
		visit(child, p[1:], fn)
		return
	}
	if arr, ok := child.([]any); ok {
		for _, e := range arr {
			visit(e, p[1:], fn)
		}
	}
}

func (pk pick) apply(v any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	if pk.first > 0 {
		return arr[:min(pk.first, len(arr))]
	}
	out := make([]any, 0, len(pk.indexes))
	for _, i := range pk.indexes {
		if i < 0 {
			i += len(arr)
		}
		if i >= 0 && i < len(arr) {
			out = append(out, arr[i])
		}
	}
	return out
}

// apply runs the steps on a decoded document.
func (s *shape) apply(doc any) any {
	for _, pk := range s.picks {
		if pk.path == nil {
			doc = pk.apply(doc)
			continue
		}
		visit(doc, pk.path, func(obj map[string]any, name string) {
			if v, ok := obj[name]; ok {
				obj[name] = pk.apply(v)
			}
		})
	}
	if s.allow != nil {
		var ok bool
		if doc, ok = s.allow.filter(doc); !ok {
			doc = emptyLike(doc)
		}
	}
	for _, p := range s.deny {
		visit(doc, p, func(obj map[string]any, name string) { delete(obj, name) })
	}
	for _, r := range s.renames {
		visit(doc, r.path, func(obj map[string]any, name string) {
			if v, ok := obj[name]; ok && name != r.to {
				delete(obj, name)
				obj[r.to] = v
			}
		})
	}
	for _, f := range s.flatten {
		visit(doc, f.path, func(obj map[string]any, name string) {
			inner, ok := obj[name].(map[string]any)
			if !ok {
				return
			}
			delete(obj, name)
			for k, v := range inner {
				if _, taken := obj[f.prefix+k]; !taken {
					obj[f.prefix+k] = v
				}
			}
		})
	}
	if s.wrap != "" {
		doc = map[string]any{s.wrap: doc}
	}
	return doc
}

// emptyLike is what an allow-list leaves of a document it keeps nothing
// of: an empty object or array, so the client still gets valid JSON of the
// shape it expects.
func emptyLike(v any) any {
	if _, ok := v.([]any); ok {
		return []any{}
	}
	return map[string]any{}
}

// transformJSON decodes body, applies s and encodes the result. Numbers
// keep their exact text (json.Number); members come out sorted by name
// (encoding/json's order); HTML characters are not escaped, so strings
// reach the client as the upstream wrote them.
func (s *shape) transformJSON(body []byte) ([]byte, error) {
	doc, err := jsonvalue.Decode(body)
	if err != nil {
		return nil, err
	}
	return jsonvalue.Append(make([]byte, 0, len(body)), s.apply(doc), false)
}
