package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestGRPCStatusCounted counts gRPC calls by the grpc-status they ended
// with, from a trailer or a trailers-only header, with undefined codes
// folded into UNKNOWN; plain HTTP answers are not counted.
func TestGRPCStatusCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(h http.HandlerFunc) {
		m.Middleware(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/a.B/C", nil))
	}
	serve(func(w http.ResponseWriter, r *http.Request) { // a stream ending with trailers
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = w.Write([]byte("\x00\x00\x00\x00\x00"))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	})
	serve(func(w http.ResponseWriter, r *http.Request) { // trailers-only
		w.Header().Set("Grpc-Status", "14")
		w.WriteHeader(200)
	})
	serve(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Grpc-Status", "1234") })
	serve(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	want := `
# HELP gatescale_grpc_responses_total gRPC calls answered, counted when the handler returns, by route and grpc-status (the 17 code names of the gRPC spec).
# TYPE gatescale_grpc_responses_total counter
gatescale_grpc_responses_total{grpc_code="OK",route="unmatched"} 1
gatescale_grpc_responses_total{grpc_code="UNAVAILABLE",route="unmatched"} 1
gatescale_grpc_responses_total{grpc_code="UNKNOWN",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), GRPCResponsesTotal); err != nil {
		t.Error(err)
	}
	m.ForgetRoute("unmatched")
	if n := testutil.CollectAndCount(m.grpc); n != 0 {
		t.Errorf("%d gRPC series left after ForgetRoute", n)
	}
}
