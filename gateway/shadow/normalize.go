package shadow

import (
	"net/url"
	"strings"
)

// Normalization is one way an upstream may read two different request
// paths as the same resource.
type Normalization string

// The normalisations Find models. Those the gateway neutralises itself
// (route.NormalizePath refuses or resolves them before matching) are probed
// all the same, so a later relaxation of the gateway's hardening shows up
// here instead of in production.
const (
	// None: the upstream reads the path as sent. A finding means another
	// route sends the very path the protected route sends (strip_prefix or
	// rewrite onto a shared upstream).
	None Normalization = "none"
	// Case: letter case is ignored (IIS and ASP.NET, Express's default
	// router, Windows and macOS file systems).
	Case Normalization = "case"
	// TrailingSlash: /a/ is /a (Spring before 6, Express's non-strict
	// routing, many frameworks' redirects).
	TrailingSlash Normalization = "trailing_slash"
	// Suffix: /a.json is /a (Spring MVC's suffix pattern match, on by
	// default before 5.3).
	Suffix Normalization = "suffix"
	// PercentDecode: %61 is "a" (every server; the gateway decodes
	// unreserved escapes itself).
	PercentDecode Normalization = "percent_decode"
	// MatrixParams: /a;x=1/b is /a/b (Tomcat, Jetty, Spring; the gateway
	// refuses ";").
	MatrixParams Normalization = "matrix_params"
	// DoubleSlash: //a is /a (most servers; the gateway collapses "//").
	DoubleSlash Normalization = "double_slash"
	// Backslash: \ is / (IIS; the gateway refuses "\").
	Backslash Normalization = "backslash"
	// TrailingDot: /a./b is /a/b (Windows and IIS; the gateway refuses a
	// segment ending in a dot).
	TrailingDot Normalization = "trailing_dot"
	// DotSegments: /x/../a is /a (the gateway resolves dot segments).
	DotSegments Normalization = "dot_segments"
	// EncodedSlash: %2F is / (servers that decode before routing; the
	// gateway refuses %2F).
	EncodedSlash Normalization = "encoded_slash"
)

// Normalizations lists every normalisation Find models, in the order
// findings are reported.
var Normalizations = []Normalization{None, Case, TrailingSlash, Suffix, PercentDecode, MatrixParams,
	DoubleSlash, Backslash, TrailingDot, DotSegments, EncodedSlash}

// does says what an upstream applying n does, for messages.
func (n Normalization) does() string {
	switch n {
	case Case:
		return "ignores letter case"
	case TrailingSlash:
		return "ignores a trailing slash"
	case Suffix:
		return "ignores a file extension (Spring MVC's suffix pattern match)"
	case PercentDecode:
		return "decodes percent-encoded characters"
	case MatrixParams:
		return "strips ;parameters (Tomcat, Jetty, Spring)"
	case DoubleSlash:
		return "collapses repeated slashes"
	case Backslash:
		return "reads a backslash as a slash (IIS)"
	case TrailingDot:
		return "drops trailing dots (Windows, IIS)"
	case DotSegments:
		return "resolves dot segments"
	case EncodedSlash:
		return "decodes %2F into a slash"
	}
	return "reads paths as sent"
}

// variant returns a spelling of the escaped upstream path u that an
// upstream applying n reads as u, or "" when n cannot change u.
func (n Normalization) variant(u string) string {
	firstEnd := strings.IndexByte(u[1:], '/') + 1 // end of the first segment
	if firstEnd == 0 {
		firstEnd = len(u)
	}
	var v string
	switch n {
	case None:
		v = u
	case Case:
		v = upperASCII(u)
	case TrailingSlash:
		if len(u) > 1 && strings.HasSuffix(u, "/") {
			v = strings.TrimSuffix(u, "/")
		} else {
			v = u + "/"
		}
	case Suffix:
		if !strings.HasSuffix(u, "/") {
			v = u + ".json"
		}
	case PercentDecode:
		for i := 0; i < len(u); i++ {
			if c := u[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				v = u[:i] + "%" + strings.ToLower(hex2(c)) + u[i+1:]
				break
			}
		}
	case MatrixParams:
		v = u[:firstEnd] + ";x=1" + u[firstEnd:]
	case DoubleSlash:
		v = "/" + u
	case Backslash:
		if strings.Contains(u[1:], "/") {
			v = "/" + strings.ReplaceAll(u[1:], "/", `\`)
		} else {
			v = `/\` + u[1:]
		}
	case TrailingDot:
		if firstEnd > 1 {
			v = u[:firstEnd] + "." + u[firstEnd:]
		}
	case DotSegments:
		v = "/x/.." + u
	case EncodedSlash:
		if firstEnd < len(u) {
			v = u[:firstEnd] + "%2F" + u[firstEnd+1:]
		} else {
			v = "/%2F" + u[1:]
		}
	}
	if v == u && n != None {
		return ""
	}
	return v
}

// canon returns the form of the escaped path p that an upstream applying
// n compares: two paths with one canonical form are one resource to it.
func (n Normalization) canon(p string) string {
	switch n {
	case Case:
		return strings.ToLower(p)
	case TrailingSlash:
		if len(p) > 1 {
			return strings.TrimSuffix(p, "/")
		}
	case Suffix:
		last := strings.LastIndexByte(p, '/')
		if dot := strings.LastIndexByte(p, '.'); dot > last+1 {
			return p[:dot]
		}
	case PercentDecode:
		if d, err := url.PathUnescape(p); err == nil {
			return d
		}
	case MatrixParams:
		segs := strings.Split(p, "/")
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";")
		}
		return strings.Join(segs, "/")
	case DoubleSlash:
		return collapseSlashes(p)
	case Backslash:
		return collapseSlashes(strings.ReplaceAll(p, `\`, "/"))
	case TrailingDot:
		segs := strings.Split(p, "/")
		for i, s := range segs {
			segs[i] = strings.TrimRight(s, ". ")
		}
		return strings.Join(segs, "/")
	case DotSegments:
		return resolveDots(p)
	case EncodedSlash:
		return collapseSlashes(strings.NewReplacer("%2F", "/", "%2f", "/").Replace(p))
	}
	return p
}

func upperASCII(p string) string {
	b := []byte(p)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2 // keep escapes as they are
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func hex2(c byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{hex[c>>4], hex[c&15]})
}

func collapseSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// resolveDots resolves "." and ".." segments as RFC 3986 section 5.2.4
// does, never above the root.
func resolveDots(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs[1:] {
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if i == len(segs)-2 {
			out = append(out, "") // a trailing dot segment leaves a slash
		}
	}
	return "/" + strings.Join(out, "/")
}
