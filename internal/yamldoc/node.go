package yamldoc

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Join appends a key to a path: "upstreams" + "users" is upstreams.users;
// keys that are not plain words are quoted: upstreams["a.b"].
func Join(path, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// ParentPath strips the last key or index from path.
func ParentPath(path string) string {
	if strings.HasSuffix(path, "\"]") {
		// Find the "[" that opens a quoted key running to the end.
		for i := strings.LastIndex(path, "[\""); i >= 0; i = strings.LastIndex(path[:i], "[\"") {
			if q, err := strconv.QuotedPrefix(path[i+1:]); err == nil && i+1+len(q)+1 == len(path) {
				return path[:i]
			}
		}
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// IsUnder reports whether path is entry or below it; every path is under
// the empty entry.
func IsUnder(path, entry string) bool {
	if entry == "" {
		return true
	}
	rest, ok := strings.CutPrefix(path, entry)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// Pairs returns the key/value pairs of a mapping node (none for other
// nodes).
func Pairs(n ast.Node) []*ast.MappingValueNode {
	switch n := n.(type) {
	case *ast.MappingNode:
		return n.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}
	}
	return nil
}

// KeyText returns the text of a mapping key.
func KeyText(k ast.Node) string {
	for range MaxDepth {
		switch v := k.(type) {
		case nil:
			return ""
		case *ast.TagNode:
			k = v.Value
			continue
		case *ast.AnchorNode:
			k = v.Value
			continue
		case *ast.MappingKeyNode:
			k = v.Value
			continue
		case *ast.StringNode:
			return v.Value
		}
		break
	}
	if k == nil {
		return ""
	}
	if tk := k.GetToken(); tk != nil && IsScalar(k) {
		return tk.Value
	}
	return k.String()
}

// NodePos returns where n starts: the first key of a block mapping, not
// its colon.
func NodePos(n ast.Node) Pos {
	for range MaxDepth {
		switch v := n.(type) {
		case nil:
			return Pos{}
		case *ast.MappingNode:
			if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil {
				n = v.Values[0].Key
				continue
			}
		case *ast.MappingValueNode:
			if v.Key != nil {
				n = v.Key
				continue
			}
		}
		tk := n.GetToken()
		if tk == nil {
			return Pos{}
		}
		return Pos{tk.Position.Line, tk.Position.Column}
	}
	return Pos{}
}

// UnwrapTag strips tags (!!str) from n.
func UnwrapTag(n ast.Node) ast.Node {
	for {
		t, ok := n.(*ast.TagNode)
		if !ok || t.Value == nil {
			return n
		}
		n = t.Value
	}
}

// IsMapping reports whether n is a mapping (n resolved, see Doc.Resolve).
func IsMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// IsScalar reports whether n is neither a mapping nor a list.
func IsScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.MappingKeyNode:
		return false
	}
	return true
}

// IsStringScalar reports whether n is a string, quoted, plain or literal.
func IsStringScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return true
	}
	return false
}

// NodeDesc describes a node for "expected X, got Y": "a mapping", "a
// list", a quoted string, or the scalar as written.
func NodeDesc(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case *ast.NullNode:
		return "null"
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return article(n.Type().YAMLName())
}

// PairText is "key:value" for a one-pair mapping of scalars, the way it
// was most likely meant: [a:1] inside {...} is the mapping {a: 1} to YAML.
// It is "" for other nodes.
func PairText(n ast.Node) string {
	ps := Pairs(n)
	if len(ps) != 1 || ps[0].Value == nil || ps[0].Value.GetToken() == nil {
		return ""
	}
	return KeyText(ps[0].Key) + ":" + ps[0].Value.GetToken().Value
}

// isFlowPair reports whether n is a one-pair mapping of scalars, as "a:b"
// in a flow collection is read.
func isFlowPair(n ast.Node) bool {
	ps := Pairs(n)
	return len(ps) == 1 && ps[0].Key != nil && !ps[0].Key.IsMergeKey() && ps[0].Value != nil &&
		IsScalar(UnwrapTag(ps[0].Value)) && PairText(n) != ""
}

// tokenDesc describes the value of a scalar token.
func tokenDesc(value string, t reflect.Type) string {
	if t != nil && t.Kind() == reflect.String {
		return strconv.Quote(value)
	}
	if value == "" {
		return "an empty value"
	}
	return value
}

func article(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + s
	}
	return "a " + s
}
