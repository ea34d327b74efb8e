package problem_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/problem"
)

func ExampleWrite() {
	rec := httptest.NewRecorder()
	problem.Write(rec, problem.Details{Status: 503, Detail: "no healthy instances", Route: "users", Upstream: "users"})
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 503 application/problem+json
	// {"title":"Service Unavailable","status":503,"detail":"no healthy instances","route":"users","upstream":"users"}
}
