package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
)

// discard is an exporter that drops spans: "on" then measures making and
// batching them, not a collector.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkTracing is the proxied-request path (Gateway.ServeHTTP to a
// loopback backend, access log off) in four settings:
//   - untraced: a gateway built without WithTracing, the baseline;
//   - off: WithTracing with what tracing.New returns when nothing is
//     configured (nil): it must match the baseline, allocations included;
//   - on: every request sampled, spans batched to an exporter that drops
//     them;
//   - on-unsampled: tracing on with sampling_ratio 0 (spans made but not
//     recorded, trace context still propagated).
//
// Compare allocs/op of untraced and off; ns/op are for reading, not
// asserting.
func BenchmarkTracing(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":42,"name":"alice"}`)
	}))
	defer backend.Close()
	zero := 0.0
	for _, c := range []struct {
		name string
		opt  bool
		cfg  tracing.Config
	}{
		{"untraced", false, tracing.Config{}},
		{"off", true, tracing.Config{}},
		{"on", true, tracing.Config{Exporter: discard{}}},
		{"on-unsampled", true, tracing.Config{Exporter: discard{}, SamplingRatio: &zero}},
	} {
		b.Run(c.name, func(b *testing.B) {
			opts := []gateway.Option{gateway.WithAccessLog(false), gateway.WithLogger(slog.New(slog.DiscardHandler))}
			if c.opt {
				tr, err := tracing.New(context.Background(), c.cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Shutdown(context.Background())
				opts = append(opts, gateway.WithTracing(tr))
			}
			gw, err := gateway.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer gw.Close()
			if err := gw.Apply(context.Background(), gateway.Config{
				Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{{Addr: backend.Listener.Addr().String()}}}},
				Routes:    []route.Route{{Route: spec.Route{Name: "u", PathPrefix: "/", Upstream: "u"}}},
			}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				gw.ServeHTTP(rec, httptest.NewRequest("GET", "/users/42", nil))
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
