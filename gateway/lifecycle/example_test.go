package lifecycle_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A deprecated route is served with its deprecation headers.
func ExampleMiddleware() {
	h := lifecycle.Middleware(spec.Lifecycle{State: "deprecated", Sunset: "2027-01-31T00:00:00Z", Successor: "/v2/users"})(ok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/users", nil))
	fmt.Println(rec.Code, rec.Header().Get("Sunset"))
	// Output: 200 Sun, 31 Jan 2027 00:00:00 GMT
}

// Transition refuses what makes no sense.
func ExampleTransition() {
	fmt.Println(lifecycle.Transition("retired", "draft"))
	// Output: a retired route stays retired (asked: draft); publish a new route instead
}
