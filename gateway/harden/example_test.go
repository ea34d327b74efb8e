package harden_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/harden"
)

func ExampleMaxHeaderCount() {
	h := harden.MaxHeaderCount(100)(http.NotFoundHandler())
	r := httptest.NewRequest("GET", "/", nil)
	for i := range 101 {
		r.Header.Set(fmt.Sprintf("X-Junk-%d", i), "x")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code)
	// Output: 431
}
