package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

// FuzzPropagation feeds a caller's trace headers, which are untrusted
// input, through the server middleware and an attempt: nothing panics, and
// the traceparent sent upstream is always the gateway's own, well formed,
// whatever the caller sent.
func FuzzPropagation(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE", "tenant=acme,user=x;p=1")
	f.Add("00-00000000000000000000000000000000-0000000000000000-01", "", "")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b,,c=", "%zz=1")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\n", strings.Repeat("k=v,", 40), strings.Repeat("x", 9000))
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag string) {
		var sent string
		h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			out := r.Clone(r.Context())
			out.Header = http.Header{}
			tr.StartAttempt(out, "u", "127.0.0.1:1", 1)(200, nil)
			sent = out.Header.Get("Traceparent")
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Traceparent"] = []string{traceparent}
		req.Header["Tracestate"] = []string{tracestate}
		req.Header["Baggage"] = []string{bag}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !traceparentRE.MatchString(sent) || sent == traceparent {
			t.Fatalf("sent traceparent %q for incoming %q", sent, traceparent)
		}
		exp.Reset()
	})
}
