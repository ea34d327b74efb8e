package route

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// PathError says why a request path was refused. Its message is safe to
// send to the client: it names the kind of problem, never echoes the path.
type PathError struct {
	Reason string
}

func (e *PathError) Error() string { return "malformed request path: " + e.Reason }

// Reasons NormalizePath refuses a path for. They are fixed strings so that
// they can be counted and documented.
var (
	errNoSlash         = &PathError{"it must begin with /"}
	errControl         = &PathError{"it contains a space or control character"}
	errBackslash       = &PathError{"it contains a backslash"}
	errSemicolon       = &PathError{"it contains a semicolon (path parameters are refused)"}
	errBadEscape       = &PathError{"it has a malformed percent-encoding"}
	errEncodedSlash    = &PathError{"it contains an encoded slash or backslash (%2F, %5C)"}
	errEncodedPercent  = &PathError{"it contains an encoded percent sign (%25): double encoding is refused"}
	errEncodedControl  = &PathError{"it contains an encoded control character"}
	errEncodedSemi     = &PathError{"it contains an encoded semicolon (%3B)"}
	errInvalidUTF8     = &PathError{"it is not valid UTF-8 once decoded (overlong or truncated sequences are refused)"}
	errTrailingDot     = &PathError{"a path segment ends with a dot or a space"}
	errPathTooLong     = &PathError{"it is too long"}
	maxNormalizedInput = 16 << 10 // far above any real path; bounds the work per request
)

// NormalizePath returns the normal form of an escaped request path (as
// url.URL.EscapedPath returns it), or a *PathError saying why the path is
// refused. Route matching, the route's policies and the upstream all see
// the normal form, so no spelling of a path can match one route while an
// upstream reads it as another.
//
// The normal form:
//   - percent-encoded unreserved characters (letters, digits, - . _ ~) are
//     decoded, so %2e is a dot and %61 is "a"; other escapes are kept with
//     upper-case hex digits;
//   - dot segments are resolved (/a/./b → /a/b, /a/../b → /b, never above
//     the root) and repeated slashes collapsed; a trailing slash is kept.
//
// Refused, because backends disagree on what they mean and each has been
// used to slip past path-based policies: spaces and control characters,
// raw or encoded; backslashes, raw or encoded (Windows and some frameworks
// read them as slashes); encoded slashes (a backend that decodes them sees
// different segments); semicolons, raw or encoded (Tomcat, Jetty and Spring
// strip ";params", so /public/..;/admin is /admin to them); an encoded
// percent sign (%25, double encoding); bytes that do not decode to valid
// UTF-8, which includes overlong encodings such as %c0%af for "/"; and
// segments ending in a dot or a space (Windows drops them: "admin." is
// "admin").
func NormalizePath(escaped string) (string, error) {
	if escaped == "" {
		return "/", nil
	}
	if escaped[0] != '/' {
		return "", errNoSlash
	}
	if len(escaped) > maxNormalizedInput {
		return "", errPathTooLong
	}
	// Pass 1: validate bytes and escapes, decode unreserved escapes.
	var b strings.Builder
	b.Grow(len(escaped))
	nonASCII := false
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return "", errControl
		case c == '\\':
			return "", errBackslash
		case c == ';':
			return "", errSemicolon
		case c >= 0x80:
			// Not produced by EscapedPath, but callers may pass raw bytes:
			// treat them as their escape.
			nonASCII = true
			writeEscape(&b, c)
		case c == '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return "", errBadEscape
			}
			d := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
			switch {
			case d == '/' || d == '\\':
				return "", errEncodedSlash
			case d == '%':
				return "", errEncodedPercent
			case d == ';':
				return "", errEncodedSemi
			case d < ' ' || d == 0x7f:
				return "", errEncodedControl
			case isUnreserved(d):
				b.WriteByte(d)
			default:
				if d >= 0x80 {
					nonASCII = true
				}
				writeEscape(&b, d)
			}
		default:
			b.WriteByte(c)
		}
	}
	p := b.String()
	if nonASCII {
		dec, err := url.PathUnescape(p)
		if err != nil || !utf8.ValidString(dec) {
			return "", errInvalidUTF8
		}
	}

	// Pass 2: resolve dot segments and collapse empty ones. After pass 1 a
	// dot is always a literal '.', so "." and ".." are the only dot segments.
	segs := make([]string, 0, strings.Count(p, "/"))
	trailingSlash := false
	for rest := p[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		switch seg {
		case "", ".":
			trailingSlash = true
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			trailingSlash = true
		default:
			if last := seg[len(seg)-1]; last == '.' || strings.HasSuffix(seg, "%20") {
				return "", errTrailingDot
			}
			segs = append(segs, seg)
			trailingSlash = false
		}
		if !more {
			break
		}
		rest = after
	}
	if len(segs) == 0 {
		return "/", nil
	}
	n := len(segs)
	for _, s := range segs {
		n += len(s)
	}
	if trailingSlash {
		n++
	}
	b.Reset()
	b.Grow(n)
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailingSlash {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// needsNormalize reports whether p (an escaped path) is possibly not in
// normal form. It is one allocation-free pass, so the common clean path
// costs nothing more.
func needsNormalize(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' || c == '\\' || c == ';' || c <= ' ' || c >= 0x7f:
			return true
		case c == '/' && (p[i-1] == '/' || p[i-1] == '.'):
			return true // "//", or a segment ending in a dot
		}
	}
	return p[len(p)-1] == '.'
}

// CleanPath normalises u's path in place (see NormalizePath). It returns
// false, leaving u unchanged, for paths that are refused.
func CleanPath(u *url.URL) bool {
	esc := u.EscapedPath()
	if !needsNormalize(esc) {
		if u.Path == "" {
			u.Path = "/"
		}
		return true
	}
	n, err := NormalizePath(esc)
	if err != nil {
		return false
	}
	setEscapedPath(u, n)
	return true
}

func writeEscape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved reports RFC 3986 unreserved characters, whose escapes are
// equivalent to the characters themselves.
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// lowerASCII returns the escaped path p with ASCII letters lower-cased,
// leaving the hex digits of escapes alone. Only ASCII: Unicode case folding
// maps some characters onto ASCII ones (the Kelvin sign K becomes "k"),
// which would let a non-ASCII spelling match an ASCII route.
func lowerASCII(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			i += 2
			continue
		}
		if c >= 'A' && c <= 'Z' {
			if b == nil {
				b = []byte(p)
			}
			b[i] = c + 'a' - 'A'
		}
	}
	if b == nil {
		return p
	}
	return string(b)
}

// hasUpperASCII reports whether lowerASCII would change p.
func hasUpperASCII(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			i += 2
			continue
		}
		if c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}
