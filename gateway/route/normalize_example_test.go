package route_test

import (
	"fmt"

	"github.com/gatescale/gatescale/gateway/route"
)

func ExampleNormalizePath() {
	for _, p := range []string{"/api//v1/./users/../orders", "/public/%2e%2e/admin", "/admin%2fsecret", "/public/..;/admin", "/%c0%afadmin"} {
		n, err := route.NormalizePath(p)
		fmt.Printf("%-28s %q %v\n", p, n, err)
	}
	// Output:
	// /api//v1/./users/../orders   "/api/v1/orders" <nil>
	// /public/%2e%2e/admin         "/admin" <nil>
	// /admin%2fsecret              "" malformed request path: it contains an encoded slash or backslash (%2F, %5C)
	// /public/..;/admin            "" malformed request path: it contains a semicolon (path parameters are refused)
	// /%c0%afadmin                 "" malformed request path: it is not valid UTF-8 once decoded (overlong or truncated sequences are refused)
}
