package yamlschema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/gatescale/gatescale/internal/yamldoc"
)

// Draft is the JSON Schema dialect the generator writes.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is one JSON Schema object.
type Schema = map[string]any

// Generator turns Go types into a JSON Schema of their YAML form, reading
// struct fields by their yaml tags exactly as the parser does
// (yamldoc.Fields: inline fields flattened, "-" left out).
type Generator struct {
	// Custom returns the schema of a type the generic walk would get wrong
	// (one that reads itself with an UnmarshalYAML method), or nil.
	Custom func(t reflect.Type) Schema
	// Field returns extra keywords for the field key of struct type t
	// (an enum, a pattern); nil for none. They apply to each item of a list.
	Field func(t reflect.Type, key string) Schema
	// Describe returns the description of the field key of struct type t,
	// or "".
	Describe func(t reflect.Type, key string) string
	// Tag is the struct tag that names fields: "yaml" (the default) reads
	// them as the YAML parser does, "json" as encoding/json does (embedded
	// structs flattened, []byte as base64, UnmarshalJSON types in Custom),
	// for a JSON API that shares the model's types.
	Tag string
	// RefPrefix is what a $ref puts before a $defs name; "" is "#/$defs/".
	// An OpenAPI document uses "#/components/schemas/".
	RefPrefix string
	// Name returns the $defs name of type t, or "" for the default
	// (package.Type, e.g. spec.Route).
	Name func(t reflect.Type) string

	defs  map[string]Schema
	names map[reflect.Type]string
}

// Generate returns the schema of root with the named struct types in $defs.
// extra, if set, may adjust the root object (e.g. patternProperties).
func (g *Generator) Generate(root reflect.Type, id, title string, extra func(Schema)) Schema {
	g.reset()
	s := g.object(deref(root))
	s["$schema"] = Draft
	if id != "" {
		s["$id"] = id
	}
	if title != "" {
		s["title"] = title
	}
	if extra != nil {
		extra(s)
	}
	if len(g.defs) > 0 {
		defs := Schema{}
		for k, v := range g.defs {
			defs[k] = v
		}
		s["$defs"] = defs
	}
	return s
}

// Defs returns the named schemas of roots and of every struct type they
// hold, each root under its $defs name, with no root document: the
// components of an OpenAPI document.
func (g *Generator) Defs(roots ...reflect.Type) map[string]Schema {
	g.reset()
	for _, t := range roots {
		g.def(deref(t))
	}
	return g.defs
}

func (g *Generator) reset() {
	g.defs = map[string]Schema{}
	g.names = map[reflect.Type]string{}
}

func (g *Generator) ref(name string) Schema {
	prefix := g.RefPrefix
	if prefix == "" {
		prefix = "#/$defs/"
	}
	return Schema{"$ref": prefix + name}
}

func (g *Generator) json() bool { return g.Tag == "json" }

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// Of returns the schema of a value of type t (for Custom functions).
func (g *Generator) Of(t reflect.Type) Schema { return g.of(t) }

// of returns the schema of a value of type t.
func (g *Generator) of(t reflect.Type) Schema {
	t = deref(t)
	if g.Custom != nil {
		if name, ok := g.names[t]; ok {
			return g.ref(name)
		}
		if s := g.Custom(t); s != nil {
			// Named in $defs once, referred to wherever it is used.
			name := g.name(t)
			g.defs[name] = s
			return g.ref(name)
		}
	}
	if g.json() && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return Schema{"type": "string", "contentEncoding": "base64"} // as encoding/json writes it
	}
	if reads, text := g.readsItself(t); text {
		// A TextUnmarshaler (netip.Prefix, url.URL...) is written as a string.
		return Schema{"type": "string"}
	} else if reads {
		panic(fmt.Sprintf("yamlschema: %s reads itself (Unmarshal%s): give its schema in Generator.Custom", t, strings.ToUpper(g.tag())))
	}
	switch t.Kind() {
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Schema{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Slice, reflect.Array:
		return Schema{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("yamlschema: map key %s is not a string", t.Key()))
		}
		return Schema{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return Schema{}
	case reflect.Struct:
		return g.ref(g.def(t))
	}
	panic(fmt.Sprintf("yamlschema: no schema for %s", t))
}

var (
	textUnmarshaler  = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler  = reflect.TypeFor[json.Unmarshaler]()
	yamlUnmarshalers = []reflect.Type{
		reflect.TypeFor[yaml.BytesUnmarshaler](), reflect.TypeFor[yaml.InterfaceUnmarshaler](),
		reflect.TypeFor[yaml.NodeUnmarshaler](), reflect.TypeFor[yaml.BytesUnmarshalerContext](),
		reflect.TypeFor[yaml.InterfaceUnmarshalerContext](), reflect.TypeFor[yaml.NodeUnmarshalerContext](),
	}
)

// readsItself reports whether the decoder hands t's values to a method of
// t; text says the method is UnmarshalText (a scalar).
func (g *Generator) readsItself(t reflect.Type) (reads, text bool) {
	p := reflect.PointerTo(t)
	unmarshalers := yamlUnmarshalers
	if g.json() {
		unmarshalers = []reflect.Type{jsonUnmarshaler}
	}
	for _, u := range unmarshalers {
		if p.Implements(u) {
			return true, false
		}
	}
	if p.Implements(textUnmarshaler) {
		return true, true
	}
	return false, false
}

// def returns the $defs name of struct type t, generating it once.
func (g *Generator) def(t reflect.Type) string {
	if name, ok := g.names[t]; ok {
		return name
	}
	name := g.name(t)
	g.defs[name] = Schema{} // placeholder for recursive types
	g.defs[name] = g.object(t)
	return name
}

// name gives t its unique $defs name.
func (g *Generator) name(t reflect.Type) string {
	name := ""
	if g.Name != nil {
		name = g.Name(t)
	}
	if name == "" {
		name = defName(t)
	}
	for taken := true; taken; {
		taken = false
		for other, n := range g.names {
			if n == name && other != t {
				name += "_"
				taken = true
			}
		}
	}
	g.names[t] = name
	return name
}

// defName is package.Type, e.g. spec.Route.
func defName(t reflect.Type) string {
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	name := t.Name()
	if name == "" {
		name = "anonymous"
	}
	if pkg == "" {
		return name
	}
	return pkg + "." + name
}

// object is the schema of struct type t: its keys, no others.
func (g *Generator) object(t reflect.Type) Schema {
	props := Schema{}
	fields := g.fields(t)
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		f := fields[key]
		// The field's owner: for an inlined field, the struct it is
		// declared in (its doc comment is there).
		owner := t
		for _, i := range f.Index[:len(f.Index)-1] {
			owner = deref(owner.Field(i).Type)
		}
		s := g.of(f.Type)
		if g.Field != nil {
			if extra := g.Field(owner, key); extra != nil {
				target := s
				if items, ok := s["items"].(Schema); ok && s["type"] == "array" {
					target = items
				}
				s = mergeInto(s, target, extra)
			}
		}
		if g.Describe != nil {
			if d := g.Describe(owner, key); d != "" {
				s = withKey(s, "description", d)
			}
		}
		props[key] = s
	}
	return Schema{"type": "object", "properties": props, "additionalProperties": false}
}

func (g *Generator) tag() string {
	if g.Tag == "" {
		return "yaml"
	}
	return g.Tag
}

// fields are t's keys and the fields that hold them, read by the tag's
// decoder.
func (g *Generator) fields(t reflect.Type) map[string]reflect.StructField {
	if !g.json() {
		return yamldoc.Fields(t)
	}
	out := map[string]reflect.StructField{}
	jsonFields(out, map[string]int{}, t, nil, 0)
	return out
}

// jsonFields adds t's fields by encoding/json's rules: a tag's name or the
// field's, "-" left out, an untagged embedded struct's fields flattened,
// the shallowest of two same-named fields winning.
func jsonFields(out map[string]reflect.StructField, depths map[string]int, t reflect.Type, index []int, depth int) {
	t = deref(t)
	if t.Kind() != reflect.Struct || depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		f.Index = append(slices.Clone(index), f.Index...)
		if f.Anonymous && name == "" {
			ft := deref(f.Type)
			if ft.Kind() == reflect.Struct && (f.IsExported() || f.Type.Kind() != reflect.Pointer) {
				jsonFields(out, depths, ft, f.Index, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d, taken := depths[name]; !taken || depth < d {
			out[name], depths[name] = f, depth
		}
	}
}

// mergeInto adds extra's keywords to target, a part of s (s itself or its
// items), copying so that shared schemas are not changed.
func mergeInto(s, target, extra Schema) Schema {
	t := clone(target)
	for k, v := range extra {
		t[k] = v
	}
	if sameMap(s, target) {
		return t
	}
	out := clone(s)
	out["items"] = t
	return out
}

func withKey(s Schema, k string, v any) Schema {
	out := clone(s)
	out[k] = v
	return out
}

func clone(s Schema) Schema {
	out := make(Schema, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	return out
}

func sameMap(a, b Schema) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// Keys lists the key paths a schema allows, as "a.b[].c" (a list item is
// [], a mapping's value by name is *), following $refs: the walk a test
// compares with the parser's.
func Keys(root Schema) []string {
	defs, _ := root["$defs"].(Schema)
	var out []string
	seen := map[string]bool{}
	var walk func(s Schema, path string)
	walk = func(s Schema, path string) {
		if ref, ok := s["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/$defs/")
			if seen[name+"@"+path] || strings.Count(path, ".") > 12 {
				return
			}
			seen[name+"@"+path] = true
			if d, ok := defs[name].(Schema); ok {
				walk(d, path)
			}
		}
		for _, kw := range []string{"oneOf", "anyOf"} {
			if alts, ok := s[kw].([]any); ok {
				for _, a := range alts {
					if as, ok := a.(Schema); ok {
						walk(as, path)
					}
				}
			}
		}
		if props, ok := s["properties"].(Schema); ok {
			for k, v := range props {
				p := k
				if path != "" {
					p = path + "." + k
				}
				out = append(out, p)
				if vs, ok := v.(Schema); ok {
					walk(vs, p)
				}
			}
		}
		if items, ok := s["items"].(Schema); ok {
			walk(items, path+"[]")
		}
		if ap, ok := s["additionalProperties"].(Schema); ok {
			walk(ap, path+".*")
		}
	}
	walk(root, "")
	slices.Sort(out)
	return slices.Compact(out)
}
