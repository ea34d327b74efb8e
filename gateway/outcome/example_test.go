package outcome_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/outcome"
)

// A middleware of one's own that needs the final status and size, sharing
// the recorder the gateway's metrics and access log use.
func ExampleWrap() {
	h := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := outcome.Wrap(w) // reused if an outer middleware already wrapped w
			next.ServeHTTP(rec, r)
			fmt.Println(outcome.Status(r, rec, false), rec.Bytes(), outcome.Route(r))
		})
	}(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("created"))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/orders", nil))
	// Output: 201 7 unmatched
}
