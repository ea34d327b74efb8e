package yamlschema_test

import (
	"encoding/json"
	"fmt"
	"reflect"

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
