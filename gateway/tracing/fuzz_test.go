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
// input, through the server middleware and an attempt whose headers are
// the caller's (as the proxy copies them), in both the mode that continues
// the caller's trace and the one that restarts it: nothing panics, and the
// traceparent sent upstream is always the gateway's own, well formed,
// whatever the caller sent; restarting, it is of another trace than the
// caller's and neither the caller's tracestate nor its baggage goes on.
func FuzzPropagation(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE", "tenant=acme,user=x;p=1")
	f.Add("00-00000000000000000000000000000000-0000000000000000-01", "", "")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b,,c=", "%zz=1")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\n", strings.Repeat("k=v,", 40), strings.Repeat("x", 9000))
	exp := tracetest.NewInMemoryExporter()
	continuing, err := New(context.Background(), Config{Exporter: exp})
	if err != nil {
		f.Fatal(err)
	}
	restarting, err := New(context.Background(), Config{Exporter: exp, IncomingContext: IncomingRestart})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag string) {
		for mode, tr := range map[string]*Tracer{IncomingContinue: continuing, IncomingRestart: restarting} {
			var sent http.Header
			h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out := r.Clone(r.Context())
				tr.StartAttempt(out, "u", "127.0.0.1:1", 1)(200, nil)
				sent = out.Header
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header["Traceparent"] = []string{traceparent}
			req.Header["Tracestate"] = []string{tracestate}
			req.Header["Baggage"] = []string{bag}
			h.ServeHTTP(httptest.NewRecorder(), req)
			tp := sent.Get("Traceparent")
			if len(sent.Values("Traceparent")) != 1 || !traceparentRE.MatchString(tp) || tp == traceparent {
				t.Fatalf("%s: sent traceparent %q for incoming %q", mode, sent.Values("Traceparent"), traceparent)
			}
			if mode == IncomingRestart {
				if len(traceparent) >= 35 && tp[3:35] == traceparent[3:35] {
					t.Fatalf("restart: sent traceparent %q continues incoming %q", tp, traceparent)
				}
				if len(sent.Values("Tracestate")) > 0 || len(sent.Values("Baggage")) > 0 {
					t.Fatalf("restart: sent the caller's tracestate %.80q and baggage %.80q", sent.Get("Tracestate"), sent.Get("Baggage"))
				}
			}
		}
		exp.Reset()
	})
}
