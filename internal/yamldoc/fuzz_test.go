package yamldoc

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that parsing, indexing, checking and decoding never
// panic, whatever the input, and that every error names the file.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"listen: :8080\n",
		"routes:\n  - {name: a, upstream: b, weight: x}\n  - name: b\n",
		"upstreams:\n  base: &b {k: v}\n  u: {<<: *b, k2: v2}\n",
		"routes: &r [*r]\n",
		"a: &a [*a, *a]\nroutes: *a\n",
		"<<: [*x]\n",
		"upstreams: {<<: 5}\n",
		"listen: *nope\n",
		"a: 1\n---\nb: 2\n",
		"a: 1\na: 2\n",
		"routes: [\n",
		"\t: 1\n",
		"? [a, b]\n: c\n",
		"!!map {listen: !!str :1}\n",
		`upstreams: {"a.b": {"c]": d}}` + "\n",
		strings.Repeat("[", 80) + strings.Repeat("]", 80),
		strings.Repeat("- ", 80) + "x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Parse("fuzz.yaml", data, Schema{})
		if d.Body() != nil {
			d.Check(d.Body(), reflect.TypeFor[testFile](), "")
			var v testFile
			d.Decode(&v)
		}
		if err := d.Err(); err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line %q does not name the file; all:\n%s", line, err)
				}
			}
		}
	})
}
