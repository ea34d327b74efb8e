package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

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

// New registers the collectors with the options' buckets. A second
// Metrics on the same registry, or buckets that are not increasing, is an
// error rather than a panic.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg,
		metrics.WithBuckets([]float64{.01, .1, 1}), // seconds
		metrics.WithNativeHistogram(1))             // classic buckets only
	if err != nil {
		panic(err)
	}
	m.ObserveUpstream("users", 200, 50*time.Millisecond)

	families, _ := reg.Gather()
	for _, mf := range families {
		if mf.GetName() != metrics.UpstreamRequestDuration {
			continue
		}
		for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
			fmt.Printf("le=%g %d\n", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}

	_, err = metrics.New(reg)
	fmt.Println(err)
	_, err = metrics.New(prometheus.NewRegistry(), metrics.WithSizeBuckets([]float64{1e3, 1e2}))
	fmt.Println(err)
	// Output:
	// le=0.01 0
	// le=0.1 1
	// le=1 1
	// metrics: register: duplicate metrics collector registration attempted
	// metrics: buckets [1000 100] must be non-empty and strictly increasing
}

// A handler built once, not with each route table (here on a plain
// handler: route "unmatched"), goes on being counted after ForgetRoute of
// its name, where one of Middleware's is taken for a removed route's
// straggler and records nothing.
func ExampleMetrics_MiddlewareAcrossReloads() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	ofTable, lasting := m.Middleware(ok), m.MiddlewareAcrossReloads(ok)
	m.ForgetRoute("unmatched")
	for _, h := range []http.Handler{ofTable, lasting, lasting} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	families, _ := reg.Gather()
	for _, mf := range families {
		if mf.GetName() == metrics.RequestsTotal {
			fmt.Println(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output: 2
}
