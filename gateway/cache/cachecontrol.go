package cache

import (
	"strconv"
	"strings"
	"time"
)

// Directives are the Cache-Control directives (RFC 9111 §5.2, RFC 5861)
// the cache acts on, from a request or a response. Unknown directives are
// ignored, as RFC 9111 requires.
type Directives struct {
	NoStore, NoCache, Private, Public bool
	MustRevalidate, ProxyRevalidate   bool
	NoTransform                       bool
	// OnlyIfCached (requests only): answer from the store or with 504
	// (RFC 9111 §5.2.1.7).
	OnlyIfCached bool

	// The delta-seconds directives. A Has flag says whether the directive
	// was present: max-age=0 and no max-age mean different things.
	MaxAge, SMaxAge                    time.Duration
	HasMaxAge, HasSMaxAge              bool
	StaleWhileRevalidate, StaleIfError time.Duration
	HasStaleWhileRevalidate            bool
	HasStaleIfError                    bool
}

// maxDelta is what RFC 9111 §1.2.2 says to use for a delta-seconds value
// too large to represent: 2^31 seconds.
const maxDelta = time.Duration(1<<31) * time.Second

// ParseCacheControl parses the Cache-Control field lines in values (a
// request's or a response's, as http.Header.Values returns them). It never
// fails: the header comes from clients and upstreams, so malformed parts
// are read conservatively. A delta-seconds directive whose value is not a
// number counts as 0 (so a response is never fresher than it said), one
// too large to represent as 2^31 seconds; when a directive is repeated the
// first occurrence counts (RFC 9111 §4.2.1).
func ParseCacheControl(values []string) Directives {
	var d Directives
	for _, v := range values {
		p := ccParser{s: v}
		for {
			name, arg, ok := p.next()
			if !ok {
				break
			}
			d.set(name, arg)
		}
	}
	return d
}

func (d *Directives) set(name, arg string) {
	switch strings.ToLower(name) {
	case "no-store":
		d.NoStore = true
	case "no-cache":
		d.NoCache = true // also the qualified form no-cache="field": stricter, never wrong
	case "private":
		d.Private = true // likewise private="field"
	case "public":
		d.Public = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "no-transform":
		d.NoTransform = true
	case "only-if-cached":
		d.OnlyIfCached = true
	case "max-age":
		setDelta(&d.MaxAge, &d.HasMaxAge, arg)
	case "s-maxage":
		setDelta(&d.SMaxAge, &d.HasSMaxAge, arg)
	case "stale-while-revalidate":
		setDelta(&d.StaleWhileRevalidate, &d.HasStaleWhileRevalidate, arg)
	case "stale-if-error":
		setDelta(&d.StaleIfError, &d.HasStaleIfError, arg)
	}
}

func setDelta(dst *time.Duration, has *bool, arg string) {
	if *has {
		return
	}
	*has = true
	*dst = parseDelta(arg)
}

// parseDelta reads delta-seconds: 1*DIGIT.
func parseDelta(s string) time.Duration {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n >= 1<<31 { // ParseInt fails only on overflow here
		return maxDelta
	}
	return time.Duration(n) * time.Second
}

// String formats d as a Cache-Control value, directives in a fixed order.
// ParseCacheControl of the result gives d back.
func (d Directives) String() string {
	var parts []string
	flag := func(on bool, name string) {
		if on {
			parts = append(parts, name)
		}
	}
	delta := func(has bool, v time.Duration, name string) {
		if has {
			parts = append(parts, name+"="+strconv.FormatInt(int64(v/time.Second), 10))
		}
	}
	flag(d.NoStore, "no-store")
	flag(d.NoCache, "no-cache")
	flag(d.Private, "private")
	flag(d.Public, "public")
	flag(d.MustRevalidate, "must-revalidate")
	flag(d.ProxyRevalidate, "proxy-revalidate")
	flag(d.NoTransform, "no-transform")
	flag(d.OnlyIfCached, "only-if-cached")
	delta(d.HasMaxAge, d.MaxAge, "max-age")
	delta(d.HasSMaxAge, d.SMaxAge, "s-maxage")
	delta(d.HasStaleWhileRevalidate, d.StaleWhileRevalidate, "stale-while-revalidate")
	delta(d.HasStaleIfError, d.StaleIfError, "stale-if-error")
	return strings.Join(parts, ", ")
}

// ccParser walks one field line: #( token [ "=" ( token / quoted-string ) ] ).
// It is lenient where the grammar is strict (stray spaces, empty list
// elements) and never reads a byte twice, so its cost is linear in the
// header's length.
type ccParser struct {
	s string
	i int
}

func (p *ccParser) next() (name, arg string, ok bool) {
	for {
		p.skip(func(c byte) bool { return c == ' ' || c == '\t' || c == ',' })
		if p.i >= len(p.s) {
			return "", "", false
		}
		start := p.i
		p.skip(func(c byte) bool { return c != '=' && c != ',' && c != ' ' && c != '\t' })
		name = p.s[start:p.i]
		p.skip(func(c byte) bool { return c == ' ' || c == '\t' })
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			p.skip(func(c byte) bool { return c == ' ' || c == '\t' })
			arg = p.value()
		}
		// Whatever follows up to the next comma is junk: drop it.
		p.skip(func(c byte) bool { return c != ',' })
		if name != "" {
			return name, arg, true
		}
	}
}

func (p *ccParser) value() string {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			switch {
			case c == '"':
				return b.String()
			case c == '\\' && p.i < len(p.s):
				b.WriteByte(p.s[p.i])
				p.i++
			default:
				b.WriteByte(c)
			}
		}
		return b.String() // unterminated: take what there is
	}
	start := p.i
	p.skip(func(c byte) bool { return c != ',' && c != ' ' && c != '\t' })
	return p.s[start:p.i]
}

func (p *ccParser) skip(while func(byte) bool) {
	for p.i < len(p.s) && while(p.s[p.i]) {
		p.i++
	}
}
