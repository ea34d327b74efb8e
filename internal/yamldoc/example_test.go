package yamldoc_test

import (
	"fmt"
	"reflect"

	"github.com/gatescale/gatescale/internal/yamldoc"
)

// A format parses, checks against its Go type and decodes; every problem is
// reported at once, with its position and key path.
func ExampleParse() {
	type Route struct {
		Name    string `yaml:"name"`
		Timeout int    `yaml:"timeout_seconds"`
	}
	type File struct {
		Listen string  `yaml:"listen"`
		Routes []Route `yaml:"routes"`
	}
	doc := yamldoc.Parse("gw.yaml", []byte(`listen: ":8080"
routes:
  - {name: a, timeout_seconds: ten}
  - {name: b, timout_seconds: 5}
  - {name: c, timeout_seconds: 3}
`), yamldoc.Schema{})
	doc.Check(doc.Body(), reflect.TypeFor[File](), "")
	var f File
	doc.Decode(&f)
	fmt.Println(doc.Err())
	fmt.Println(f.Routes[2].Name, f.Routes[2].Timeout)
	// Output:
	// gw.yaml:3:32: routes[0].timeout_seconds: expected an integer, got "ten"
	// gw.yaml:4:15: routes[1].timout_seconds: unknown key (did you mean timeout_seconds?)
	// c 3
}
