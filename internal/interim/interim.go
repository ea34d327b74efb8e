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
