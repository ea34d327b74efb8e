package yamldoc

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Check verifies that n, at path, has the shape of t: mappings only with
// known keys, lists where lists belong, scalars where scalars belong.
// Scalar values themselves are left to the decoder and to the format.
// Problems are reported with ShapeError.
func (d *Doc) Check(n ast.Node, t reflect.Type, path string) {
	d.check(n, t, path, 0)
}

func (d *Doc) check(n ast.Node, t reflect.Type, path string, depth int) {
	if depth > MaxDepth {
		d.ShapeError(NodePos(n), path, "nested too deeply")
		return
	}
	orig := n
	n = d.Resolve(n)
	if n == nil {
		return // an unknown alias, reported by index
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	key := checkKey{n, t}
	if d.checked[key] {
		return
	}
	d.checked[key] = true
	at := NodePos(n)
	if _, ok := orig.(*ast.AliasNode); ok {
		at = NodePos(orig)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d.schema.Check != nil && d.schema.Check(d, n, t, path, depth) {
		return
	}
	switch {
	case t.Kind() == reflect.Interface:
		// anything goes
	case hasUnmarshaler(t) && isComposite(t):
		// a type that reads itself; the decoder reports what it refuses
	case t.Kind() == reflect.Struct:
		if !IsMapping(n) {
			d.ShapeError(at, path, fmt.Sprintf("expected a mapping, got %s", NodeDesc(n)))
			return
		}
		d.CheckStruct(n, t, path, depth)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.ShapeError(at, path, fmt.Sprintf("expected a list, got %s", NodeDesc(n)))
			return
		}
		for i, v := range seq.Values {
			d.check(v, t.Elem(), path+"["+strconv.Itoa(i)+"]", depth+1)
		}
	case t.Kind() == reflect.Map:
		if !IsMapping(n) {
			d.ShapeError(at, path, fmt.Sprintf("expected a mapping, got %s", NodeDesc(n)))
			return
		}
		d.checkMap(n, t, path, depth)
	case t.Kind() == reflect.String && IsMapping(n) && isFlowPair(n):
		// [orders:read] inside {...} is the mapping {orders: read}.
		d.ShapeError(at, path, fmt.Sprintf("expected a string, got the mapping {%s}: inside {...} quote values with a colon, as in \"%s\"",
			PairText(n), PairText(n)))
	case !IsScalar(n):
		d.ShapeError(at, path, fmt.Sprintf("expected %s, got %s", d.describe(t), NodeDesc(n)))
	}
}

// checkMap checks the values of mapping n against t's element type; merged
// mappings count as written in place.
func (d *Doc) checkMap(n ast.Node, t reflect.Type, path string, depth int) {
	for _, mv := range Pairs(n) {
		if mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			if d.schema.Merge != nil && !d.schema.Merge(d, mv.Key, path, t) {
				continue
			}
			d.checkMerge(mv.Value, t, path, depth+1, d.checkMap)
			continue
		}
		d.check(mv.Value, t.Elem(), Join(path, KeyText(mv.Key)), depth+1)
	}
}

// CheckStruct checks the keys of mapping n against the fields of struct
// type t, and their values against the fields' types. depth is n's
// nesting depth, for a Schema.Check that checks a mapping as a struct.
func (d *Doc) CheckStruct(n ast.Node, t reflect.Type, path string, depth int) {
	fields := Fields(t)
	for _, mv := range Pairs(n) {
		if mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			if d.schema.Merge != nil && !d.schema.Merge(d, mv.Key, path, t) {
				continue
			}
			d.checkMerge(mv.Value, t, path, depth+1, d.CheckStruct)
			continue
		}
		key := KeyText(mv.Key)
		child := Join(path, key)
		f, ok := fields[key]
		if !ok {
			if d.schema.IgnoreKey != nil && d.schema.IgnoreKey(path, key) {
				continue
			}
			d.ShapeError(NodePos(mv.Key), child, unknownKey(key, fields))
			continue
		}
		d.check(mv.Value, f.Type, child, depth+1)
	}
}

// checkMerge checks the mappings merged in by "<<: *a" or "<<: [*a, *b]"
// with checkMapping.
func (d *Doc) checkMerge(v ast.Node, t reflect.Type, path string, depth int, checkMapping func(ast.Node, reflect.Type, string, int)) {
	if depth > MaxDepth {
		return
	}
	orig := v
	v = d.Resolve(v)
	switch {
	case v == nil:
		// an unknown alias, reported by index
	case IsMapping(v):
		key := checkKey{v, t}
		if !d.checked[key] {
			d.checked[key] = true
			checkMapping(v, t, path, depth)
		}
	default:
		seq, ok := v.(*ast.SequenceNode)
		if !ok {
			d.ShapeError(NodePos(orig), path, fmt.Sprintf("merge keys (<<) need a mapping or a list of mappings, got %s", NodeDesc(v)))
			d.noDecode = true
			return
		}
		for _, item := range seq.Values {
			d.checkMerge(item, t, path, depth+1, checkMapping)
		}
	}
}

// Fields returns the fields of struct type t by yaml key, those of
// yaml:",inline" fields included (an outer field wins over an inlined one
// of the same name). Fields without a yaml name are left out. Each field's
// Index leads from t to it.
func Fields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	addFields(out, t, nil, 0)
	return out
}

func addFields(out map[string]reflect.StructField, t reflect.Type, index []int, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 8 {
		return
	}
	var inline []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		f.Index = append(slices.Clone(index), f.Index...)
		if name == "" && slices.Contains(strings.Split(opts, ","), "inline") {
			// An unexported embedded pointer cannot be set through.
			if f.IsExported() || f.Type.Kind() != reflect.Pointer {
				inline = append(inline, f)
			}
			continue
		}
		if name == "" || !f.IsExported() {
			continue
		}
		if _, taken := out[name]; !taken {
			out[name] = f
		}
	}
	for _, f := range inline {
		addFields(out, f.Type, f.Index, depth+1)
	}
}

// unknownKey says that key is not one of fields, suggesting the closest
// name when it looks like a typo and listing all otherwise.
func unknownKey(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" && bestDist <= max(1, len(key)/3) {
		return fmt.Sprintf("unknown key (did you mean %s?)", best)
	}
	return fmt.Sprintf("unknown key (valid: %s)", strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var unmarshalers = []reflect.Type{
	reflect.TypeFor[yaml.BytesUnmarshaler](),
	reflect.TypeFor[yaml.BytesUnmarshalerContext](),
	reflect.TypeFor[yaml.InterfaceUnmarshaler](),
	reflect.TypeFor[yaml.InterfaceUnmarshalerContext](),
	reflect.TypeFor[yaml.NodeUnmarshaler](),
	reflect.TypeFor[yaml.NodeUnmarshalerContext](),
	reflect.TypeFor[encoding.TextUnmarshaler](),
}

// hasUnmarshaler reports whether the decoder hands t's values to t's own
// method rather than reading them field by field or item by item.
func hasUnmarshaler(t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[time.Duration]() {
		return true
	}
	p := reflect.PointerTo(t)
	for _, u := range unmarshalers {
		if p.Implements(u) {
			return true
		}
	}
	return false
}

func isComposite(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// describe says what a Go type accepts, for "expected X, got Y".
func (d *Doc) describe(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d.schema.Describe != nil {
		if s := d.schema.Describe(t); s != "" {
			return s
		}
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}
