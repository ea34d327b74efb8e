package grpcproxy_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// BenchmarkGRPCThroughGateway times unary calls and streamed messages
// straight to a grpc-go server and through the gateway (h2c both legs),
// and reports the ratio: what the hop costs.
func BenchmarkGRPCThroughGateway(b *testing.B) {
	be := startBackend(b, "a")
	g := startGateway(b, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:`+routeTestService, be.addr))
	direct := dial(b, be.addr)
	viaGW := dial(b, g.addr)
	ctx := context.Background()

	b.Run("unary", func(b *testing.B) {
		req := &testpb.SimpleRequest{Payload: payload("hello")}
		// Interleaved, so a change of the machine's load hits both alike.
		var d, gw time.Duration
		for range b.N {
			t0 := time.Now()
			_, _ = direct.UnaryCall(ctx, req)
			t1 := time.Now()
			_, _ = viaGW.UnaryCall(ctx, req)
			d, gw = d+t1.Sub(t0), gw+time.Since(t1)
		}
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "direct-ns/call")
		b.ReportMetric(float64(gw.Nanoseconds())/float64(b.N), "gateway-ns/call")
		b.ReportMetric(float64(gw)/float64(d), "ratio")
	})
	b.Run("stream-1KiB", func(b *testing.B) {
		stream := func(c testpb.TestServiceClient) time.Duration {
			params := make([]*testpb.ResponseParameters, b.N)
			for i := range params {
				params[i] = &testpb.ResponseParameters{Size: 1024}
			}
			start := time.Now()
			s, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := s.Recv(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start)
		}
		d, gw := stream(direct), stream(viaGW)
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "direct-ns/msg")
		b.ReportMetric(float64(gw.Nanoseconds())/float64(b.N), "gateway-ns/msg")
		b.ReportMetric(float64(gw)/float64(d), "ratio")
	})
}

func dial(b *testing.B, addr string) testpb.TestServiceClient {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}
