package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatescale/gatescale/gateway/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		panic(err)
	}

	// In the gateway, m.Middleware is given to the route table
	// (route.WithMiddleware) so every route is measured under its name.
	// Here it wraps a plain handler, so the route is "unmatched".
	hello := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	for range 3 {
		hello.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hello", nil))
	}

	// Scrape it the way Prometheus does (Prometheus itself negotiates
	// protobuf, which also carries the native histograms).
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(scrape.Body.String()) {
		if strings.HasPrefix(line, metrics.RequestsTotal) || strings.HasPrefix(line, metrics.RequestsInFlight) {
			fmt.Print(line)
		}
	}
	// Output:
	// gatescale_http_requests_in_flight{route="unmatched"} 0
	// gatescale_http_requests_total{code="200",method="GET",route="unmatched"} 3
}
