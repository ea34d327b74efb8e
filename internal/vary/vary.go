package vary

import (
	"net/http"
	"strings"
)

// Add adds name to h's Vary unless it is already listed (in any case, on
// any Vary line) or Vary is "*", which already says every header counts.
func Add(h http.Header, name string) {
	for _, line := range h.Values("Vary") {
		for v := range strings.SplitSeq(line, ",") {
			v = strings.TrimSpace(v)
			if v == "*" || strings.EqualFold(v, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
