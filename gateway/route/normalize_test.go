package route

import (
	"errors"
	"github.com/gatescale/gatescale/gateway/spec"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizePath(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"", "/", nil},
		{"/", "/", nil},
		{"/a/b", "/a/b", nil},
		{"/a//b", "/a/b", nil},
		{"//a///b//", "/a/b/", nil},
		{"/a/./b/", "/a/b/", nil},
		{"/a/../../b", "/b", nil},
		{"/a/b/..", "/a/", nil},
		{"/a/b/.", "/a/b/", nil},
		{"/..", "/", nil},
		{"/a/%2e%2e/b", "/b", nil},
		{"/a/%2E%2e/b", "/b", nil},
		{"/a/.%2e/b", "/b", nil},
		{"/%61dmin", "/admin", nil},
		{"/a%7Eb%2D", "/a~b-", nil},
		{"/caf%c3%a9", "/caf%C3%A9", nil},
		{"/a%20b", "/a%20b", nil},
		{"/q%3Fx", "/q%3Fx", nil},
		{"/v1.2/x", "/v1.2/x", nil},
		{"/.well-known/x", "/.well-known/x", nil},
		{"/a/...b", "/a/...b", nil},

		{"admin", "", errNoSlash},
		{"*", "", errNoSlash},
		{"/a%2fb", "", errEncodedSlash},
		{"/a%2Fb", "", errEncodedSlash},
		{"/a%5cb", "", errEncodedSlash},
		{"/a\\b", "", errBackslash},
		{"/public/..;/admin", "", errSemicolon},
		{"/admin;jsessionid=1", "", errSemicolon},
		{"/a%3bb", "", errEncodedSemi},
		{"/%252e%252e/admin", "", errEncodedPercent},
		{"/a%00b", "", errEncodedControl},
		{"/a%0d%0aX:1", "", errEncodedControl},
		{"/a b", "", errControl},
		{"/a\x00", "", errControl},
		{"/a%", "", errBadEscape},
		{"/a%4", "", errBadEscape},
		{"/a%zz", "", errBadEscape},
		{"/%c0%af", "", errInvalidUTF8},
		{"/%c0%ae%c0%ae/admin", "", errInvalidUTF8},
		{"/%e0%80%af", "", errInvalidUTF8},
		{"/%ed%a0%80", "", errInvalidUTF8}, // a UTF-16 surrogate
		{"/%c3", "", errInvalidUTF8},
		{"/\xc0\xaf", "", errInvalidUTF8},
		{"/admin.", "", errTrailingDot},
		{"/admin./x", "", errTrailingDot},
		{"/admin..", "", errTrailingDot},
		{"/admin%2e", "", errTrailingDot},
		{"/...", "", errTrailingDot},
		{"/admin%20", "", errTrailingDot},
		{"/" + strings.Repeat("a", maxNormalizedInput), "", errPathTooLong},
	}
	for _, c := range cases {
		got, err := NormalizePath(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
		if err != nil && strings.Contains(err.Error(), c.in[min(1, len(c.in)):]) && len(c.in) > 3 {
			t.Errorf("NormalizePath(%q): error %q echoes the path", c.in, err)
		}
	}
}

func TestNeedsNormalize(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/b/", "/a.b/c", "/v1.2"} {
		if needsNormalize(p) {
			t.Errorf("needsNormalize(%q) = true for a normal path", p)
		}
	}
	for _, p := range []string{"", "a", "//", "/a//b", "/.", "/./a", "/..", "/a/..", "/a./b", "/a.", "/%61", "/a;b", "/a\\b", "/a b", "/\x80"} {
		if !needsNormalize(p) {
			t.Errorf("needsNormalize(%q) = false", p)
		}
	}
}

func TestCleanPathRefuses(t *testing.T) {
	u := &url.URL{Path: "/a/b", RawPath: "/a%2Fb"}
	if CleanPath(u) {
		t.Fatalf("CleanPath accepted an encoded slash, giving %q", u.Path)
	}
	if u.Path != "/a/b" || u.RawPath != "/a%2Fb" {
		t.Fatalf("CleanPath changed a refused URL: %q %q", u.Path, u.RawPath)
	}
	u = &url.URL{Path: "/a/../b", RawPath: "/a/%2e%2e/b"}
	if !CleanPath(u) || u.Path != "/b" || u.RawPath != "" {
		t.Fatalf("CleanPath(/a/%%2e%%2e/b) = %q %q", u.Path, u.RawPath)
	}
}

func TestLowerASCII(t *testing.T) {
	cases := map[string]string{
		"/admin":       "/admin",
		"/ADMIN/x":     "/admin/x",
		"/A%C3%A9":     "/a%C3%A9",     // hex digits of escapes stay as they are
		"/\u212aelvin": "/\u212aelvin", // not folded onto "k"
	}
	for in, want := range cases {
		if got := lowerASCII(in); got != want {
			t.Errorf("lowerASCII(%q) = %q, want %q", in, got, want)
		}
		if hasUpperASCII(in) != (in != want) {
			t.Errorf("hasUpperASCII(%q) = %v", in, hasUpperASCII(in))
		}
	}
	if got := lowerPattern("/Users/{ID:[A-Z]{2}}/Files/*"); got != "/users/{ID:[A-Z]{2}}/files/*" {
		t.Errorf("lowerPattern = %q", got)
	}
}

// TestCaseInsensitiveRoutes checks that every spelling of a case-insensitive
// route's path is served by it, with the path lower-cased, while
// case-sensitive routes keep matching exactly.
func TestCaseInsensitiveRoutes(t *testing.T) {
	echo := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(name + " " + r.URL.EscapedPath()))
		})
	}
	tbl, err := NewTable([]Route{
		{Route: spec.Route{Name: "admin", PathPrefix: "/Admin", CaseInsensitive: true, Methods: []string{"GET"}}, Handler: echo("admin")},
		{Route: spec.Route{Name: "admin-public", PathPrefix: "/admin/public"}, Handler: echo("admin-public")},
		{Route: spec.Route{Name: "files", Path: "/Files/{Name}", CaseInsensitive: true, StripPrefix: "/FILES"}, Handler: echo("files")},
		{Route: spec.Route{Name: "Exact", PathPrefix: "/Exact"}, Handler: echo("exact")},
		{Route: spec.Route{Name: "any", PathPrefix: "/"}, Handler: echo("any")},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ method, target, want string }{
		{"GET", "/admin/x", "admin /admin/x"},
		{"GET", "/ADMIN/X", "admin /admin/x"},
		{"GET", "/aDmIn", "admin /admin"},
		{"GET", "/%41dmin/Secret", "admin /admin/secret"},
		// The route is GET only, so POST /admin/x goes to the catch-all;
		// POST /ADMIN/x must do exactly the same, with the same path.
		{"POST", "/ADMIN/x", "any /admin/x"},
		{"POST", "/admin/x", "any /admin/x"},
		{"GET", "/admin/public/a", "admin-public /admin/public/a"},
		{"GET", "/files/Readme.TXT", "files /readme.txt"},
		{"GET", "/FILES/a%C3%A9", "files /a%C3%A9"},
		{"GET", "/Exact/A", "exact /Exact/A"},
		{"GET", "/EXACT/A", "any /EXACT/A"},
		{"GET", "/\u212admin", "any /%E2%84%AAdmin"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		if got := rec.Body.String(); got != c.want {
			t.Errorf("%s %s served %q, want %q", c.method, c.target, got, c.want)
		}
	}
}

func TestServeRefusesMalformedPaths(t *testing.T) {
	hit := false
	tbl, err := NewTable([]Route{{Route: spec.Route{Name: "any", PathPrefix: "/"}, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true })}})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/a%2fb", "/a;b", "/%c0%af", "/x.", "/a%25"} {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "malformed request path") {
			t.Errorf("GET %s: %d %q, want 400 with a reason", target, rec.Code, rec.Body)
		}
	}
	if hit {
		t.Error("a refused path reached the handler")
	}
}

// lenient is how a permissive backend might read a path: decode every
// escape, take backslashes for slashes, drop ";params", drop trailing dots
// and spaces from segments (Windows), then resolve dot segments.
func lenient(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ReplaceAll(p, "\\", "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		if s != "." && s != ".." {
			s = strings.TrimRight(s, ". ")
		}
		segs[i] = s
	}
	c := path.Clean("/" + strings.Join(segs, "/"))
	return c
}

// FuzzNormalizePath checks that NormalizePath never panics and that what it
// accepts is in normal form, is a fixed point, and means to a lenient
// backend exactly what it means to the gateway: the route chosen for the
// normal form is the one the backend serves.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/", "/a//b", "/a/./b/../c", "/%2e%2e/admin", "/a%2fb", "/public/..;/admin", "/%c0%afadmin",
		"/admin.", "/ADMIN", "/caf%C3%A9", "/a%20", "/a\\..\\b", "/%252e", "/.../x", "/a%zz", "//..//..//x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) || out != "" {
				t.Fatalf("NormalizePath(%q) = %q, %v: want a *PathError and no path", in, out, err)
			}
			return
		}
		if out == "" || out[0] != '/' || strings.Contains(out, "//") {
			t.Fatalf("NormalizePath(%q) = %q: not a clean absolute path", in, out)
		}
		for _, seg := range strings.Split(out[1:], "/") {
			if seg == "." || seg == ".." || strings.HasSuffix(seg, ".") || strings.ContainsAny(seg, ";\\") {
				t.Fatalf("NormalizePath(%q) = %q: segment %q is not normal", in, out, seg)
			}
		}
		dec, uerr := url.PathUnescape(out)
		if uerr != nil || !utf8.ValidString(dec) || strings.ContainsAny(dec, "\\;\x00") || strings.Contains(dec[1:], "//") {
			t.Fatalf("NormalizePath(%q) = %q: decodes to %q (%v)", in, out, dec, uerr)
		}
		again, err := NormalizePath(out)
		if err != nil || again != out {
			t.Fatalf("NormalizePath(%q) = %q, but NormalizePath(%q) = %q, %v", in, out, out, again, err)
		}
		if lin, lout := lenient(in), lenient(out); lin != lout {
			t.Fatalf("a lenient backend reads %q as %q but the gateway routed %q (%q)", in, lin, out, lout)
		}
		if !needsNormalize(in) && in != out {
			t.Fatalf("needsNormalize(%q) = false, but it normalises to %q", in, out)
		}
	})
}
