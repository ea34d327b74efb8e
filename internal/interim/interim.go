// Package interim writes interim (1xx) responses, such as 103 Early Hints,
// through an http.ResponseWriter without changing the final response.
//
// net/http's ResponseWriter sends its whole header map with an interim
// response and keeps that map for the final one, so fields put there for
// the interim response alone would otherwise reach the final response too
// — and clearing the map afterwards, as httputil.ReverseProxy does, drops
// the fields earlier middleware set for the final response.
package interim

import "net/http"

// Write sends an interim response with code (1xx, not 101) whose header is
// w's header with the fields of extra put over it, then restores w's header
// as it was.
func Write(w http.ResponseWriter, code int, extra http.Header) {
	h := w.Header()
	type prior struct {
		values []string
		had    bool
	}
	saved := make(map[string]prior, len(extra))
	for k, vv := range extra {
		old, had := h[k]
		saved[k] = prior{old, had}
		h[k] = vv
	}
	w.WriteHeader(code)
	for k, p := range saved {
		if p.had {
			h[k] = p.values
		} else {
			delete(h, k)
		}
	}
}
