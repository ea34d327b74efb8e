package admin

import (
	"reflect"
	"strings"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/units"
)

// modelSchemas are the JSON Schemas of the model the API reads and writes,
// derived from the Go types and their json tags (the same types DecodeStrict
// decodes into), so the document follows the model without a second copy.
func modelSchemas() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	g.root("Config", reflect.TypeFor[spec.Config]())
	g.root("Route", reflect.TypeFor[spec.Route]())
	g.root("Upstream", reflect.TypeFor[spec.Upstream]())
	g.root("Consumer", reflect.TypeFor[consumer.Consumer]())
	return g.defs
}

type schemaGen struct{ defs map[string]any }

// custom are the types with their own JSON forms.
var custom = map[reflect.Type]map[string]any{
	reflect.TypeFor[units.Duration](): {"type": "string", "description": "A Go duration: 250ms, 5s, 1m30s.", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`},
	reflect.TypeFor[units.Size](): {"description": "A byte count: a number, or a string with a unit (512KiB, 1MB).",
		"oneOf": []any{map[string]any{"type": "integer", "minimum": 0}, map[string]any{"type": "string", "pattern": `^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)?$`}}},
}

func (g *schemaGen) root(name string, t reflect.Type) {
	g.defs[name] = g.structSchema(t)
}

func (g *schemaGen) of(t reflect.Type) any {
	if s, ok := custom[t]; ok {
		return s
	}
	if t == reflect.TypeFor[spec.Instance]() {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string", "description": "host:port"}, g.named(t)}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.Struct:
		return g.named(t)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return true // interface{}: any JSON value
}

// named returns a $ref to t's schema, adding it once.
func (g *schemaGen) named(t reflect.Type) any {
	name := t.Name()
	if pkg := t.PkgPath(); pkg != "" && !strings.HasSuffix(pkg, "/spec") {
		name = pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
	}
	switch name {
	case "spec.Route", "Route":
		name = "Route"
	case "consumer.Consumer":
		name = "Consumer"
	}
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = map[string]any{} // a placeholder stops recursion
		g.defs[name] = g.structSchema(t)
	}
	return ref(name)
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.fields(t, props)
	// No "required": the server's validation decides (a route's name comes
	// from its path, a composite route has no upstream) and answers with
	// a pointer; unknown members are refused, as DecodeStrict does.
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.fields(ft, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
	}
}
