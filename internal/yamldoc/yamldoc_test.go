package yamldoc

import (
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
)

type testRoute struct {
	Name     string   `yaml:"name"`
	Upstream string   `yaml:"upstream"`
	Methods  []string `yaml:"methods,omitempty"`
	Weight   int      `yaml:"weight,omitempty"`
	Enabled  *bool    `yaml:"enabled,omitempty"`
}

type testSpec struct {
	Routes    []testRoute                  `yaml:"routes"`
	Upstreams map[string]map[string]string `yaml:"upstreams"`
}

type testFile struct {
	Listen    string `yaml:"listen"`
	testSpec  `yaml:",inline"`
	*TestMore `yaml:",inline"`
}

// TestMore is exported so that reflection can allocate it through the
// embedded pointer, as for a *spec.Config.
type TestMore struct {
	DrainPeriod string `yaml:"drain_period"`
}

// load parses, checks against testFile and decodes, as a format would.
func load(t *testing.T, doc string) (*Doc, testFile) {
	t.Helper()
	d := Parse("t.yaml", []byte(doc), Schema{})
	var f testFile
	if d.Body() != nil {
		d.Check(d.Body(), reflect.TypeFor[testFile](), "")
		d.Decode(&f)
	}
	return d, f
}

func errLines(d *Doc) []string {
	if err := d.Err(); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}

func TestIndexPositions(t *testing.T) {
	d, _ := load(t, `listen: ":8080"
routes:
  - name: a
    upstream: users
upstreams:
  "users.v2":
    x: y
`)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]Pos{
		"listen":                  {1, 9},
		"routes[0].upstream":      {4, 15},
		`upstreams["users.v2"]`:   {7, 5},
		`upstreams["users.v2"].x`: {7, 8},
	} {
		if got, ok := d.ValuePos(path); !ok || got != want {
			t.Errorf("ValuePos(%s) = %v %v, want %v", path, got, ok, want)
		}
	}
	if at, ok := d.KeyPos(`upstreams["users.v2"]`); !ok || at != (Pos{6, 3}) {
		t.Errorf("KeyPos = %v %v", at, ok)
	}
	// An absent value is placed at its nearest present parent (a list item
	// has no key: its first key).
	if at := d.Pos("routes[0].methods"); at != (Pos{3, 5}) {
		t.Errorf("Pos of an absent key = %v", at)
	}
	if !d.Present("routes[0].name") || d.Present("routes[0].methods") || !d.IsScalarAt("listen") || d.IsScalarAt("routes") {
		t.Error("Present or IsScalarAt")
	}
}

func TestUnknownKeysAndInline(t *testing.T) {
	d, _ := load(t, `lisen: x
drain_perod: 5s
what: 1
routes:
  - {name: a, upstream: b, wieght: 2}
`)
	want := []string{
		"t.yaml:1:1: lisen: unknown key (did you mean listen?)",
		"t.yaml:2:1: drain_perod: unknown key (did you mean drain_period?)",
		"t.yaml:3:1: what: unknown key (valid: drain_period, listen, routes, upstreams)",
		"t.yaml:5:28: routes[0].wieght: unknown key (did you mean weight?)",
	}
	if got := errLines(d); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeInline(t *testing.T) {
	d, f := load(t, "listen: :1\ndrain_period: 5s\nroutes: [{name: a, upstream: b, enabled: false}]\nupstreams: {b: {k: v}}\n")
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if f.Listen != ":1" || f.TestMore == nil || f.DrainPeriod != "5s" || len(f.Routes) != 1 || f.Upstreams["b"]["k"] != "v" {
		t.Fatalf("decoded %+v", f)
	}
	// A pointer to a zero value stays set: false is not "unset".
	if e := f.Routes[0].Enabled; e == nil || *e {
		t.Errorf("enabled = %v", e)
	}
}

// Every bad item of a list is reported, not only the first.
func TestDecodeReportsEveryEntry(t *testing.T) {
	d, f := load(t, `routes:
  - {name: a, weight: x}
  - {name: b, weight: 2}
  - {name: c, weight: y}
`)
	want := []string{
		`t.yaml:2:23: routes[0].weight: expected an integer, got "x"`,
		`t.yaml:4:23: routes[2].weight: expected an integer, got "y"`,
	}
	if got := errLines(d); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(f.Routes) != 3 || f.Routes[1].Weight != 2 {
		t.Errorf("the good entry: %+v", f.Routes)
	}
}

func TestShapes(t *testing.T) {
	d, _ := load(t, `listen: [a]
routes: {a: 1}
upstreams:
  u: [x]
  v: {k: [1]}
`)
	want := []string{
		"t.yaml:1:9: listen: expected a string, got a list",
		"t.yaml:2:9: routes: expected a list, got a mapping",
		"t.yaml:4:6: upstreams.u: expected a mapping, got a list",
		"t.yaml:5:10: upstreams.v.k: expected a string, got a list",
	}
	if got := errLines(d); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// [orders:read] is the mapping {orders: read} to YAML.
	d, _ = load(t, "routes: [{name: a, methods: [orders:read]}]\n")
	if got := errLines(d); len(got) != 1 || got[0] != `t.yaml:1:30: routes[0].methods[0]: expected a string, got the mapping {orders:read}: inside {...} quote values with a colon, as in "orders:read"` {
		t.Errorf("errors %q", got)
	}
}

func TestAnchorsAliasesMerge(t *testing.T) {
	d, f := load(t, `upstreams:
  base: &b {k: v}
  u: {<<: *b, k2: v2}
routes:
  - &r {name: a, upstream: base}
  - <<: *r
    name: b
  - *r
`)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if f.Upstreams["u"]["k"] != "v" || f.Upstreams["u"]["k2"] != "v2" {
		t.Errorf("merge into a map: %v", f.Upstreams)
	}
	if len(f.Routes) != 3 || f.Routes[1].Name != "b" || f.Routes[1].Upstream != "base" || f.Routes[2].Name != "a" {
		t.Errorf("routes: %+v", f.Routes)
	}

	d, _ = load(t, "listen: *nope\nroutes: [*.x]\n")
	want := []string{
		"t.yaml:1:9: listen: alias *nope does not refer to an anchor (&nope) defined before it",
		`t.yaml:2:10: routes[0]: *.x is read as a YAML alias: quote it, as in "*.x"`,
	}
	if got := errLines(d); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSchemaHooks(t *testing.T) {
	s := Schema{
		IgnoreKey: func(path, key string) bool { return path == "" && strings.HasPrefix(key, "x-") },
		Merge: func(d *Doc, key ast.Node, path string, t reflect.Type) bool {
			if t.Kind() == reflect.Map {
				d.ShapeError(NodePos(key), path, "merge keys (<<) are not supported here")
				return false
			}
			return true
		},
		Describe: func(t reflect.Type) string {
			if t == reflect.TypeFor[int]() {
				return "a whole number"
			}
			return ""
		},
	}
	d := Parse("t.yaml", []byte("x-a: &a {k: v}\nupstreams: {<<: *a}\nroutes: [{weight: [1]}]\n"), s)
	d.Check(d.Body(), reflect.TypeFor[testFile](), "")
	want := []string{
		"t.yaml:2:13: upstreams: merge keys (<<) are not supported here",
		"t.yaml:3:19: routes[0].weight: expected a whole number, got a list",
	}
	if got := errLines(d); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !d.HasShapeError("routes") || !d.HasShapeError("routes[0]") || d.HasShapeError("listen") {
		t.Error("HasShapeError")
	}
}

func TestDocumentErrors(t *testing.T) {
	for doc, want := range map[string]string{
		"a: [\n":            "t.yaml:1:4: sequence end token ']' not found",
		"a: 1\n---\nb: 2\n": "t.yaml:3:1: only one YAML document is allowed per file",
		"a: 1\na: 2\n":      "t.yaml:2:1: a: duplicate key, first defined at line 1",
		strings.Repeat("[", 70) + strings.Repeat("]", 70): "nested too deeply",
	} {
		d := Parse("t.yaml", []byte(doc), Schema{})
		if err := d.Err(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: err = %v, want %q", doc, err, want)
		}
	}
	for _, doc := range []string{"", "# comment\n", "---\n"} {
		if d := Parse("t.yaml", []byte(doc), Schema{}); d.Body() != nil || d.Err() != nil {
			t.Errorf("%q: body %v, err %v", doc, d.Body(), d.Err())
		}
	}
}

func TestErrorsSortedAndOnce(t *testing.T) {
	d := Parse("t.yaml", []byte("a: 1\nb: 2\n"), Schema{})
	d.Errorf("b", "second")
	d.Errorf("a", "first")
	d.Errorf("b", "second")
	d.Errorf("c.d", "absent: at the document")
	want := []string{"t.yaml:1:1: c.d: absent: at the document", "t.yaml:1:4: a: first", "t.yaml:2:4: b: second"}
	if got := errLines(d); !reflect.DeepEqual(got, want) || d.ErrorCount() != 3 {
		t.Errorf("errors %q", got)
	}
}

func TestPaths(t *testing.T) {
	for _, c := range []struct{ path, key, joined string }{
		{"", "listen", "listen"},
		{"upstreams", "users", "upstreams.users"},
		{"upstreams", "users.v2", `upstreams["users.v2"]`},
		{"routes[0]", "a]b", `routes[0]["a]b"]`},
		{"auth.jwt", "", `auth.jwt[""]`},
	} {
		if got := Join(c.path, c.key); got != c.joined {
			t.Errorf("Join(%q, %q) = %q, want %q", c.path, c.key, got, c.joined)
		}
		if got := ParentPath(c.joined); got != c.path {
			t.Errorf("ParentPath(%q) = %q, want %q", c.joined, got, c.path)
		}
	}
	if !IsUnder("routes[1].name", "routes[1]") || IsUnder("routes[10]", "routes[1]") || !IsUnder("x", "") {
		t.Error("IsUnder")
	}
}
