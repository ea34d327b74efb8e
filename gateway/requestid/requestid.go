package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Header is the header carrying the id, in canonical form.
const Header = "X-Request-Id"

// MaxLen is the longest incoming id that is kept.
const MaxLen = 128

type ctxKey struct{}

// Middleware makes sure every request has an id; see the package doc.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !valid(id) {
			id = New()
			// Replace, not add: a rejected id must not reach the upstream.
			r.Header.Set(Header, id)
		} else if len(r.Header[Header]) > 1 {
			r.Header.Set(Header, id) // upstreams must see the same single id
		}
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// From returns the request id in ctx, or "" if there is none.
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
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
