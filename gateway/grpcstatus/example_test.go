package grpcstatus_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
)

func ExampleFromHTTP() {
	for _, s := range []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		fmt.Println(s, grpcstatus.FromHTTP(s))
	}
	// Output:
	// 401 UNAUTHENTICATED
	// 429 RESOURCE_EXHAUSTED
	// 503 UNAVAILABLE
	// 504 DEADLINE_EXCEEDED
}

func ExampleFromHeader() {
	// What httputil.ReverseProxy leaves in the header map after copying an
	// upstream's undeclared gRPC trailers.
	h := http.Header{http.TrailerPrefix + "Grpc-Status": {"14"}}
	code, ok := grpcstatus.FromHeader(h)
	fmt.Println(code, ok)
	// Output: UNAVAILABLE true
}

func ExampleIsGRPC() {
	r := httptest.NewRequest("POST", "/pkg.Service/Method", nil)
	r.Header.Set("Content-Type", "application/grpc+proto")
	fmt.Println(grpcstatus.IsGRPC(r))
	// Output: true
}

func ExampleEncodeMessage() {
	fmt.Println(grpcstatus.EncodeMessage("100% done"))
	// Output: 100%25 done
}
