package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/gatescale/gatescale/gateway/request"
)

// Header is the header carrying the id, in canonical form.
const Header = "X-Request-Id"

// MaxLen is the longest incoming id that is kept.
const MaxLen = 128

type ctxKey struct{}

// Middleware makes sure every request has an id; see the package doc.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dropOtherSpellings(r.Header)
		id := r.Header.Get(Header)
		// One allocation for both header values; capacity 1 each, so an
		// Add elsewhere copies rather than overwrites the other.
		vals := new([2]string)
		vals[0], vals[1] = id, id
		if !valid(id) {
			id = New()
			vals[0], vals[1] = id, id
			// Replace, not add: a rejected id must not reach the upstream.
			r.Header[Header] = vals[0:1:1]
		} else if len(r.Header[Header]) > 1 {
			r.Header[Header] = vals[0:1:1] // upstreams must see the same single id
		}
		w.Header()[Header] = vals[1:2:2]
		// Under a route table the request's Info carries the id: no copy
		// of the request and its context for every request.
		if info := request.InfoFrom(r.Context()); info != nil {
			info.SetRequestID(id)
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// dropOtherSpellings deletes the headers CGI-style upstreams (PHP, WSGI,
// Rack) read as X-Request-Id, X_Request_Id in any case: what they carry was
// never validated and is not the id the gateway logs.
func dropOtherSpellings(h http.Header) {
	for k := range h {
		if len(k) == len(Header) && k != Header && sameName(k) {
			delete(h, k)
		}
	}
}

// sameName reports whether k is Header, ignoring case and with '_' for '-'.
func sameName(k string) bool {
	for i := 0; i < len(k); i++ {
		if lowerDash(k[i]) != lowerDash(Header[i]) {
			return false
		}
	}
	return true
}

func lowerDash(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// From returns the request id in ctx, or "" if there is none.
func From(ctx context.Context) string {
	if id, ok := ctx.Value(ctxKey{}).(string); ok {
		return id
	}
	if info := request.InfoFrom(ctx); info != nil {
		return info.RequestID()
	}
	return ""
}

// NewContext returns ctx carrying id, for code that starts requests outside
// Middleware (background jobs, tests).
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// New returns a fresh id: 16 random bytes, hex encoded.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+ crashes the program instead)
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// valid reports whether an incoming id is safe to log and forward: it must
// not break a log line or a header, nor smuggle quotes into log formats.
func valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c <= ' ' || c >= 0x7f: // controls, space, DEL, non-ASCII
			return false
		case c == '"' || c == '\'' || c == '`' || c == '\\':
			return false
		}
	}
	return true
}
