package yamlschema_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/gatescale/gatescale/internal/yamlschema"
)

type Server struct {
	Listen string            `yaml:"listen"`
	Mode   string            `yaml:"mode,omitempty"`
	Tags   map[string]string `yaml:"tags,omitempty"`
	Secret string            `yaml:"-"`
}

func Example() {
	g := &yamlschema.Generator{
		Field: func(t reflect.Type, key string) yamlschema.Schema {
			if t == reflect.TypeFor[Server]() && key == "mode" {
				return yamlschema.Schema{"enum": []string{"fast", "safe"}}
			}
			return nil
		},
	}
	s := g.Generate(reflect.TypeFor[Server](), "", "", nil)
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
	fmt.Println(yamlschema.Keys(s))
	// Output:
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"listen":{"type":"string"},"mode":{"enum":["fast","safe"],"type":"string"},"tags":{"additionalProperties":{"type":"string"},"type":"object"}},"type":"object"}
	// [listen mode tags]
}

type Pool struct {
	Name    string   `json:"name"`
	Servers []Server `json:"servers,omitempty"`
}

// The named schemas of an OpenAPI document's components, read by the json
// tags (Server has none: encoding/json names its fields by Go name).
func ExampleGenerator_Defs() {
	g := &yamlschema.Generator{Tag: "json", RefPrefix: "#/components/schemas/"}
	defs := g.Defs(reflect.TypeFor[Pool]())
	b, _ := json.Marshal(defs["yamlschema_test.Pool"])
	fmt.Println(string(b))
	fmt.Println(slices.Sorted(maps.Keys(defs["yamlschema_test.Server"]["properties"].(yamlschema.Schema))))
	// Output:
	// {"additionalProperties":false,"properties":{"name":{"type":"string"},"servers":{"items":{"$ref":"#/components/schemas/yamlschema_test.Server"},"type":"array"}},"type":"object"}
	// [Listen Mode Secret Tags]
}
