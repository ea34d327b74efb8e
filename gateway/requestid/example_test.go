package requestid_test

import (
	"context"
	"encoding/hex"
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

// New makes an id for a request that came without a usable one: 16 random
// bytes in hex, so ids from different gateways never collide.
func ExampleNew() {
	a, b := requestid.New(), requestid.New()
	_, err := hex.DecodeString(a)
	fmt.Println(len(a), err, a != b)
	// Output: 32 <nil> true
}

// What the next handler (and so the upstream) sees: one id on the request
// header, never a rejected one, and the same id on the response.
func ExampleMiddleware() {
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("upstream sees:", r.Header.Values(requestid.Header))
	}))

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add(requestid.Header, "abc-123")
	req.Header.Add(requestid.Header, "def-456") // a second one is dropped
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("client gets:", rec.Header().Values(requestid.Header))

	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set(requestid.Header, `x"; level=ERROR`) // would forge a log field
	h = requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("replaced:", r.Header.Get(requestid.Header) == requestid.From(r.Context()), len(requestid.From(r.Context())))
	}))
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// upstream sees: [abc-123]
	// client gets: [abc-123]
	// replaced: true 32
}

// From reads the id where Middleware put it; code that starts work outside
// a request gives its context one with NewContext.
func ExampleFrom() {
	fmt.Printf("%q\n", requestid.From(context.Background()))
	ctx := requestid.NewContext(context.Background(), "job-42")
	fmt.Println(requestid.From(ctx))

	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(requestid.From(r.Context()))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(requestid.Header, "abc-123")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// ""
	// job-42
	// abc-123
}
