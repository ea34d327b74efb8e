package admin

import (
	"reflect"
	"strings"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/units"
	"github.com/gatescale/gatescale/internal/yamlschema"
)

// modelSchemas are the JSON Schemas of the model the API reads and writes,
// derived by yamlschema from the Go types and their json tags (the same
// types DecodeStrict decodes into), so the document follows the model
// without a second copy. No "required": the server's validation decides (a
// route's name comes from its path, a composite route has no upstream) and
// answers with a pointer; unknown members are refused, as DecodeStrict does.
func modelSchemas() map[string]yamlschema.Schema {
	g := &yamlschema.Generator{Tag: "json", RefPrefix: "#/components/schemas/", Name: schemaName}
	g.Custom = func(t reflect.Type) yamlschema.Schema {
		switch t {
		case reflect.TypeFor[units.Duration]():
			return yamlschema.Schema{"type": "string", "description": "A Go duration: 250ms, 5s, 1m30s.", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`}
		case reflect.TypeFor[units.Size]():
			return yamlschema.Schema{"description": "A byte count: a number, or a string with a unit (512KiB, 1MB).",
				"oneOf": []any{yamlschema.Schema{"type": "integer", "minimum": 0}, yamlschema.Schema{"type": "string", "pattern": `^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)?$`}}}
		case reflect.TypeFor[spec.Instance]():
			return yamlschema.Schema{"oneOf": []any{yamlschema.Schema{"type": "string", "description": "host:port"},
				g.Of(reflect.TypeFor[spec.InstanceFields]())}}
		}
		return nil
	}
	return g.Defs(reflect.TypeFor[spec.Config](), reflect.TypeFor[spec.Route](),
		reflect.TypeFor[spec.Upstream](), reflect.TypeFor[consumer.Consumer]())
}

// schemaName names the model's types as the API's paths do: a spec type by
// its own name (Route, Upstream), a consumer as Consumer, others as
// package.Type.
func schemaName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[consumer.Consumer]():
		return "Consumer"
	case strings.HasSuffix(t.PkgPath(), "/gateway/spec") && t.Name() != "":
		return strings.ToUpper(t.Name()[:1]) + t.Name()[1:] // instanceFields: InstanceFields
	}
	return ""
}
