package cache

import (
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		in   []string
		want Directives
	}{
		{nil, Directives{}},
		{[]string{"max-age=60"}, Directives{MaxAge: 60 * s, HasMaxAge: true}},
		{[]string{"Max-Age = 60 , PUBLIC"}, Directives{MaxAge: 60 * s, HasMaxAge: true, Public: true}},
		{[]string{`max-age="30"`}, Directives{MaxAge: 30 * s, HasMaxAge: true}},
		{[]string{"no-store", "no-cache"}, Directives{NoStore: true, NoCache: true}},
		{[]string{`private="Set-Cookie, X-Foo", max-age=5`}, Directives{Private: true, MaxAge: 5 * s, HasMaxAge: true}},
		{[]string{`no-cache="a,b"`}, Directives{NoCache: true}},
		{[]string{"s-maxage=10, max-age=0, must-revalidate, proxy-revalidate, no-transform"},
			Directives{SMaxAge: 10 * s, HasSMaxAge: true, HasMaxAge: true, MustRevalidate: true, ProxyRevalidate: true, NoTransform: true}},
		{[]string{"stale-while-revalidate=30, stale-if-error=600"},
			Directives{StaleWhileRevalidate: 30 * s, HasStaleWhileRevalidate: true, StaleIfError: 600 * s, HasStaleIfError: true}},
		// Conservative readings of bad values.
		{[]string{"max-age=abc"}, Directives{HasMaxAge: true}},
		{[]string{"max-age=-1"}, Directives{HasMaxAge: true}},
		{[]string{"max-age="}, Directives{HasMaxAge: true}},
		{[]string{"max-age=99999999999999999999"}, Directives{MaxAge: maxDelta, HasMaxAge: true}},
		{[]string{"max-age=2147483648"}, Directives{MaxAge: maxDelta, HasMaxAge: true}},
		// The first occurrence counts.
		{[]string{"max-age=10, max-age=20"}, Directives{MaxAge: 10 * s, HasMaxAge: true}},
		{[]string{"max-age=10", "max-age=0"}, Directives{MaxAge: 10 * s, HasMaxAge: true}},
		// Junk, empty elements, unknown directives, unterminated quotes.
		{[]string{",,, ,foo, bar=\"x,y\", public"}, Directives{Public: true}},
		{[]string{`max-age="12`}, Directives{MaxAge: 12 * s, HasMaxAge: true}},
		{[]string{`public x y, private`}, Directives{Public: true, Private: true}},
		{[]string{`ext="a\"b, no-store", max-age=1`}, Directives{MaxAge: s, HasMaxAge: true}},
	} {
		if got := ParseCacheControl(tc.in); got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestDirectivesString(t *testing.T) {
	d := Directives{Public: true, MaxAge: 60 * time.Second, HasMaxAge: true, HasStaleIfError: true}
	if got := d.String(); got != "public, max-age=60, stale-if-error=0" {
		t.Fatalf("String() = %q", got)
	}
}

// FuzzParseCacheControl feeds arbitrary header values to the parser. It
// must not panic, must never read a negative or unbounded age, and its
// result must survive a round trip through String.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "no-store, no-cache", `private="Set-Cookie"`, `max-age="30", public`,
		"s-maxage=10, stale-while-revalidate=5, stale-if-error=99999999999999999999",
		`a="\"`, ",,,", "max-age=1\x00", "MUST-REVALIDATE", `no-cache="a,b", proxy-revalidate`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseCacheControl([]string{s})
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < 0 || v > maxDelta {
				t.Fatalf("%q: delta %v out of range", s, v)
			}
		}
		if again := ParseCacheControl([]string{d.String()}); again != d {
			t.Fatalf("%q: round trip\n got %+v\nwant %+v", s, again, d)
		}
	})
}
