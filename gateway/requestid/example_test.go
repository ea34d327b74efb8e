package requestid_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/requestid"
)

func Example() {
	var seen string
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Handlers and inner middleware (access log, proxy) read it here.
		seen = requestid.From(r.Context())
	}))

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(requestid.Header, "abc-123") // sane: kept
	resp := httptest.NewRecorder()
	h.ServeHTTP(resp, req)
	fmt.Println("handler:", seen, "response:", resp.Header().Get(requestid.Header))

	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set(requestid.Header, "not sane") // a space: replaced
	resp = httptest.NewRecorder()
	h.ServeHTTP(resp, req)
	id := resp.Header().Get(requestid.Header)
	fmt.Println("replaced:", id != "not sane", "length:", len(id), "same in handler:", seen == id)
	// Output:
	// handler: abc-123 response: abc-123
	// replaced: true length: 32 same in handler: true
}
