package transform

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestHeadLikeGet: a HEAD answer carries the header fields the GET answer
// would (RFC 9110 §9.3.2), for the request's client type. It must not
// announce the upstream's Content-Length or ETag for a body the client
// type never gets, and it says Vary like the GET does.
func TestHeadLikeGet(t *testing.T) {
	tr := mobileWeb(t)
	const doc = `{"id":1,"items":[{"id":1,"secret":"s"},{"id":2},{"id":3}],"other":true}`
	srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"upstream"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		if r.Method != http.MethodHead {
			io.WriteString(w, doc)
		}
	})
	for _, client := range []string{"mobile", "web"} {
		g := get(t, srv, "/", "X-Client-Type", client)
		h := head(t, srv, "/", "X-Client-Type", client)
		if h.code != g.code {
			t.Fatalf("%s: HEAD %d, GET %d", client, h.code, g.code)
		}
		if cl := h.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(g.body)) {
			t.Errorf("%s: HEAD says Content-Length %s, GET sends %d bytes", client, cl, len(g.body))
		}
		if h.header.Get("ETag") != g.header.Get("ETag") {
			t.Errorf("%s: HEAD ETag %q, GET ETag %q", client, h.header.Get("ETag"), g.header.Get("ETag"))
		}
		if hv, gv := strings.Join(h.header.Values("Vary"), ","), strings.Join(g.header.Values("Vary"), ","); hv != gv {
			t.Errorf("%s: HEAD Vary %q, GET Vary %q", client, hv, gv)
		}
	}
}

func head(t *testing.T, srv *httptest.Server, path string, header ...string) answer {
	t.Helper()
	return do(t, http.MethodHead, srv, path, header...)
}
