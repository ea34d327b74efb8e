package mediatype

import "strings"

// Of returns the media type of a Content-Type value, lower-cased and
// without parameters ("application/json" for "Application/JSON;
// charset=utf-8"), or "" when it has none. It is the media type
// mime.ParseMediaType returns, whose error for a malformed parameter it
// does not make: a broken charset does not change what the body is.
//
// It exists because mime.ParseMediaType builds a map of the parameters on
// every call; the gateway asks once per upstream answer it may transform
// and once per call of a composite route, where that map was a tenth of
// the route's own work (BenchmarkOf).
func Of(contentType string) string {
	base, _, _ := strings.Cut(contentType, ";")
	mt := strings.ToLower(strings.TrimSpace(base)) // as mime does, Unicode included
	typ, rest := token(mt)
	switch {
	case typ == "":
		return ""
	case rest == "":
		return mt // a bare token, as mime accepts
	case rest[0] != '/':
		return ""
	}
	if sub, rest := token(rest[1:]); sub == "" || rest != "" {
		return ""
	}
	return mt
}

// IsJSON reports whether the media type is JSON: application/json or a
// structured syntax suffix +json (RFC 6839), such as
// application/problem+json.
func IsJSON(contentType string) bool {
	mt := Of(contentType)
	return mt == "application/json" || (strings.Contains(mt, "/") && strings.HasSuffix(mt, "+json"))
}

// token splits off the RFC 2045 token s starts with.
func token(s string) (tok, rest string) {
	for i := range len(s) {
		if !isTokenChar(s[i]) {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// isTokenChar: US-ASCII but space, controls and the tspecials
// ()<>@,;:\"/[]?= (RFC 2045 section 5.1).
func isTokenChar(c byte) bool { return tokenChars[c] }

var tokenChars = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`()<>@,;:\"/[]?=`, c)
	}
	return t
}()
