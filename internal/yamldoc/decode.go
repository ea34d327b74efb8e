package yamldoc

import (
	"bytes"
	"reflect"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Decodable reports whether entries of the document can be decoded: it
// has a body, no error that the decoder would report again for the whole
// document (an alias without an anchor, a bad merge key), and the decoder
// has seen every anchor, so that aliases resolve when entries are decoded
// one by one.
func (d *Doc) Decodable() bool {
	if d.decReady == 0 {
		d.decReady = -1
		if d.body == nil || d.noDecode {
			return false
		}
		d.dec = yaml.NewDecoder(bytes.NewReader(nil), yaml.Strict(), yaml.AllowDuplicateMapKey())
		var all any
		if err := d.dec.DecodeFromNode(d.body, &all); err != nil {
			d.yamlError(err, "")
			return false
		}
		d.decReady = 1
	}
	return d.decReady == 1
}

// Decode decodes the whole document into v, a pointer, as DecodeEntry
// does. It reports whether everything decoded; v holds what did.
func (d *Doc) Decode(v any) bool {
	return d.DecodeEntry(d.body, v, "")
}

// DecodeEntry decodes n, the value at path, into v, a pointer, with the
// strict decoder, and reports whether that worked. Struct fields and list
// items are decoded one by one, so that every bad value is reported, not
// only the decoder's first; a value with a shape error (see Check) is left
// out, and the entries holding it report false. Types with their own UnmarshalYAML, maps, and mappings with
// merge keys go to the decoder whole.
func (d *Doc) DecodeEntry(n ast.Node, v any, path string) bool {
	if !d.Decodable() {
		return false
	}
	return d.decodeInto(n, reflect.ValueOf(v).Elem(), path, 0)
}

func (d *Doc) decodeInto(n ast.Node, dst reflect.Value, path string, depth int) bool {
	if depth > MaxDepth {
		d.ShapeError(NodePos(n), path, "nested too deeply")
		return false
	}
	n = d.Resolve(n)
	if n == nil {
		return false
	}
	if _, ok := n.(*ast.NullNode); ok {
		return true // the zero value
	}
	t := dst.Type()
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	switch {
	case hasUnmarshaler(st):
	case st.Kind() == reflect.Struct && IsMapping(n) && !hasMergeKey(n):
		target := reflect.New(st)
		fields := Fields(st)
		ok := true
		for _, mv := range Pairs(n) {
			f, known := fields[KeyText(mv.Key)]
			if !known {
				continue // reported by Check
			}
			if !d.decodeInto(mv.Value, FieldByIndex(target.Elem(), f.Index), Join(path, KeyText(mv.Key)), depth+1) {
				ok = false
			}
		}
		if t.Kind() == reflect.Pointer {
			dst.Set(target)
		} else {
			dst.Set(target.Elem())
		}
		return ok && !d.HasShapeError(path)
	case t.Kind() == reflect.Slice:
		seq, isSeq := n.(*ast.SequenceNode)
		if !isSeq {
			break
		}
		items := reflect.MakeSlice(t, len(seq.Values), len(seq.Values))
		ok := true
		for i, item := range seq.Values {
			if !d.decodeInto(item, items.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1) {
				ok = false
			}
		}
		dst.Set(items)
		return ok && !d.HasShapeError(path)
	}
	if d.HasShapeError(path) {
		return false // Check has said why; the decoder would say it again
	}
	// Decode into a new *T for a pointer field: given a **T, the decoder
	// leaves it nil for a zero value (passing_only: false would read as
	// unset).
	v := reflect.New(st)
	if err := d.dec.DecodeFromNode(n, v.Interface()); err != nil {
		d.yamlError(err, path)
		d.shapeErrs = append(d.shapeErrs, path)
		return false
	}
	if t.Kind() == reflect.Pointer {
		dst.Set(v)
	} else {
		dst.Set(v.Elem())
	}
	return true
}

// FieldByIndex is v.FieldByIndex for the Index of a field from Fields,
// allocating the structs that embedded pointers (yaml:",inline" *T) point
// to. v must be settable.
func FieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func hasMergeKey(n ast.Node) bool {
	for _, mv := range Pairs(n) {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			return true
		}
	}
	return false
}
