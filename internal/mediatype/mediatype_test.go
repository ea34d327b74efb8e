package mediatype

import (
	"mime"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	for in, want := range map[string]string{
		"application/json":                  "application/json",
		" Application/JSON ; charset=utf-8": "application/json",
		"application/json; charset":         "application/json", // mime: invalid parameter
		"application/problem+json":          "application/problem+json",
		"text/html;charset=\"a":             "text/html",
		"attachment":                        "attachment",
		"":                                  "",
		"/json":                             "",
		"application/":                      "",
		"application/json x":                "",
		"application json":                  "",
		"applic@tion/json":                  "",
		"application/\u212Aml":              "application/kml", // Kelvin sign lower-cases to k, in mime too
	} {
		if got := Of(in); got != want {
			t.Errorf("Of(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		"application/json": true, "application/vnd.api+json; charset=utf-8": true, "text/plain": false,
		"+json": false, "application/jsonx": false, "": false,
	} {
		if got := IsJSON(in); got != want {
			t.Errorf("IsJSON(%q) = %v", in, got)
		}
	}
}

// FuzzOf: Of is mime.ParseMediaType's media type of the value without its
// parameters ("" where mime finds no valid type), and agrees with mime on
// the whole value wherever mime returns a type.
func FuzzOf(f *testing.F) {
	for _, s := range []string{"application/json; charset=utf-8", "text/html;;", "a/b/c", " x ", "application/\u212A", "Text/Plain; q=\"x", "0;0=0;0=00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Of(s)
		base, _, _ := strings.Cut(s, ";")
		want, _, err := mime.ParseMediaType(base)
		if err != nil {
			want = ""
		}
		if got != want {
			t.Fatalf("Of(%q) = %q, mime says %q for %q (%v)", s, got, want, base, err)
		}
		if mt, _, _ := mime.ParseMediaType(s); mt != "" && mt != got {
			t.Fatalf("Of(%q) = %q, mime says %q", s, got, mt)
		}
	})
}

func BenchmarkOf(b *testing.B) {
	const ct = "application/json; charset=utf-8"
	b.Run("mediatype.Of", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Of(ct)
		}
	})
	b.Run("mime.ParseMediaType", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = mime.ParseMediaType(ct)
		}
	})
}
