package yamlschema

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Doc is documented.
type inner struct {
	// Name names it.
	Name  string   `yaml:"name"`
	Items []*inner `yaml:"items,omitempty"` // recursive
	Hide  int      `yaml:"-"`
}

type base struct {
	// Level is inlined.
	Level uint8 `yaml:"level"`
}

type outer struct {
	base  `yaml:",inline"`
	In    *inner            `yaml:"in"`
	ByKey map[string]inner  `yaml:"by_key"`
	List  []string          `yaml:"list"`
	Ratio float64           `yaml:"ratio"`
	On    bool              `yaml:"on"`
	Any   any               `yaml:"any"`
	Wait  time.Duration     `yaml:"wait"`
	Meta  map[string]string `yaml:"meta"`
}

func TestGenerate(t *testing.T) {
	g := &Generator{
		Custom: func(t reflect.Type) Schema {
			if t == reflect.TypeFor[time.Duration]() {
				return Schema{"type": "string", "pattern": "^[0-9]+s$"}
			}
			return nil
		},
		Field: func(t reflect.Type, key string) Schema {
			if key == "list" {
				return Schema{"enum": []string{"a", "b"}}
			}
			return nil
		},
		Describe: Comments(".", "github.com/gatescale/gatescale/internal/yamlschema"),
	}
	s := g.Generate(reflect.TypeFor[*outer](), "urn:x", "T", nil)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`"$id":"urn:x"`, `"title":"T"`,
		`"level":{"description":"level is inlined.","minimum":0,"type":"integer"}`,
		`"list":{"items":{"enum":["a","b"],"type":"string"},"type":"array"}`,
		`"in":{"$ref":"#/$defs/yamlschema.inner"}`,
		`"by_key":{"additionalProperties":{"$ref":"#/$defs/yamlschema.inner"},"type":"object"}`,
		`"items":{"description":"recursive","items":{"$ref":"#/$defs/yamlschema.inner"},"type":"array"}`,
		`"name":{"description":"name names it.","type":"string"}`,
		`"wait":{"$ref":"#/$defs/time.Duration"}`,
		`"time.Duration":{"pattern":"^[0-9]+s$","type":"string"}`,
		`"any":{}`, `"on":{"type":"boolean"}`, `"ratio":{"type":"number"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	if strings.Contains(text, "Hide") || strings.Contains(text, `"hide"`) {
		t.Error("a yaml:\"-\" field is in the schema")
	}
	keys := Keys(s)
	for _, k := range []string{"level", "in.items[].items[].name", "by_key.*.name", "meta", "wait"} {
		if _, ok := slices.BinarySearch(keys, k); !ok {
			t.Errorf("Keys lacks %s: %v", k, keys)
		}
	}
}

func TestMapKeyNotString(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for map[int]string")
		}
	}()
	(&Generator{}).Generate(reflect.TypeFor[struct {
		M map[int]string `yaml:"m"`
	}](), "", "", nil)
}

type selfReader struct{ v string }

func (s *selfReader) UnmarshalYAML(b []byte) error { s.v = string(b); return nil }

// A TextUnmarshaler is a string; a type with its own UnmarshalYAML must be
// given in Custom: guessing its schema would let schema and parser differ.
func TestTypesThatReadThemselves(t *testing.T) {
	s := (&Generator{}).Generate(reflect.TypeFor[struct {
		P netip.Prefix `yaml:"p"`
	}](), "", "", nil)
	if got := s["properties"].(Schema)["p"]; !reflect.DeepEqual(got, Schema{"type": "string"}) {
		t.Errorf("netip.Prefix: %v", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Generator.Custom") {
			t.Errorf("recover() = %v", r)
		}
	}()
	(&Generator{}).Generate(reflect.TypeFor[struct {
		S selfReader `yaml:"s"`
	}](), "", "", nil)
}

type jsonBase struct {
	Level int    `json:"level"`
	Note  string `json:"note"` // shadowed by jsonOuter.Note
}

type jsonReader struct{ v string }

func (r *jsonReader) UnmarshalJSON(b []byte) error { r.v = string(b); return nil }

type jsonOuter struct {
	jsonBase
	Note   string            `json:"note,omitempty" yaml:"remark"`
	Raw    []byte            `json:"raw"`
	Plain  int               // no tag: its Go name
	Hidden string            `json:"-" yaml:"hidden"`
	In     *inner            `json:"in"`
	Tags   map[string]string `json:"tags,omitempty"`
	secret string
}

// With Tag "json" the keys are the ones encoding/json writes: the schema's
// properties and a marshalled value's members are the same set.
func TestJSONTag(t *testing.T) {
	g := &Generator{Tag: "json", RefPrefix: "#/components/schemas/", Name: func(t reflect.Type) string {
		if t == reflect.TypeFor[jsonOuter]() {
			return "Outer"
		}
		return ""
	}}
	defs := g.Defs(reflect.TypeFor[*jsonOuter]())
	outer, ok := defs["Outer"]
	if !ok {
		t.Fatalf("no Outer in %v", slices.Sorted(maps.Keys(defs)))
	}
	props := outer["properties"].(Schema)
	b, err := json.Marshal(jsonOuter{Note: "n", In: &inner{}, Tags: map[string]string{"a": "b"}, secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]any
	if err := json.Unmarshal(b, &members); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(props)), slices.Sorted(maps.Keys(members)); !slices.Equal(got, want) {
		t.Fatalf("schema keys %v, encoding/json writes %v", got, want)
	}
	if !reflect.DeepEqual(props["raw"], Schema{"type": "string", "contentEncoding": "base64"}) {
		t.Errorf("raw: %v", props["raw"])
	}
	if !reflect.DeepEqual(props["in"], Schema{"$ref": "#/components/schemas/yamlschema.inner"}) {
		t.Errorf("in: %v", props["in"])
	}
	// inner has yaml tags only: encoding/json names its fields by Go name.
	if _, ok := defs["yamlschema.inner"]["properties"].(Schema)["Name"]; !ok {
		t.Errorf("inner: %v", defs["yamlschema.inner"])
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "UnmarshalJSON") {
			t.Errorf("recover() = %v", r)
		}
	}()
	(&Generator{Tag: "json"}).Defs(reflect.TypeFor[struct {
		R jsonReader `json:"r"`
	}]())
}
