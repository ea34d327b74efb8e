package transform

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Path
	}{
		{"a", Path{{Name: "a"}}},
		{"a.b.c", Path{{Name: "a"}, {Name: "b"}, {Name: "c"}}},
		{"items[].id", Path{{Name: "items", Each: true}, {Name: "id"}}},
		{"[].id", Path{{Each: true}, {Name: "id"}}},
		{"a[].b[].c", Path{{Name: "a", Each: true}, {Name: "b", Each: true}, {Name: "c"}}},
		{`a\.b`, Path{{Name: "a.b"}}},
		{`a\[\]\\`, Path{{Name: `a[]\`}}},
		{"über.größe", Path{{Name: "über"}, {Name: "größe"}}},
		{"a b", Path{{Name: "a b"}}},
	} {
		got, err := ParsePath(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePath(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			continue
		}
		if s := got.String(); s != tc.in {
			t.Errorf("String() = %q, want %q", s, tc.in)
		}
	}
	for _, in := range []string{
		"", ".", "a.", ".a", "a..b", "a[]", "[]", "a[", "a[x]", "a]", "a[]b", "a[][]", "a.[].b",
		`a\`, "[][].a", strings.Repeat("a", maxPathLen+1),
	} {
		if p, err := ParsePath(in); err == nil {
			t.Errorf("ParsePath(%q) = %#v, want an error", in, p)
		}
	}
}

// FuzzParsePath: the parser of configuration paths never panics, and what
// it accepts prints back to a path that parses to the same value.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"a.b", "items[].id", "[].x", `a\.b`, "a[", "a]", `\`, "a..b", "[]", "a[].b[].c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		if len(p) == 0 || p[len(p)-1].Each {
			t.Fatalf("%q: accepted %#v", s, p)
		}
		for i, seg := range p {
			if seg.Name == "" && !(i == 0 && seg.Each) {
				t.Fatalf("%q: empty segment %d in %#v", s, i, p)
			}
		}
		again, err := ParsePath(p.String())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("%q: String() %q parses to %#v, %v; want %#v", s, p.String(), again, err, p)
		}
	})
}
