package health_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatescale/gatescale/gateway/health"
)

// TestGRPCProbe probes a real grpc-go health server over h2c.
func TestGRPCProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := grpchealth.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	probe := func(service string) error {
		return health.Active{GRPC: &health.GRPC{Service: service}}.Probe(context.Background(), base)
	}

	if err := probe(""); err != nil {
		t.Errorf("server SERVING: %v", err)
	}
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	if err := probe("orders"); err != nil {
		t.Errorf("service SERVING: %v", err)
	}
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := probe("orders"); err == nil || !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Errorf("service NOT_SERVING: %v", err)
	}
	if err := probe("unknown"); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("unknown service: %v", err)
	}

	// A server without the health service answers UNIMPLEMENTED.
	bare := grpc.NewServer()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = bare.Serve(ln2) }()
	t.Cleanup(bare.Stop)
	err = health.Active{GRPC: &health.GRPC{}}.Probe(context.Background(), &url.URL{Scheme: "http", Host: ln2.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "UNIMPLEMENTED") {
		t.Errorf("no health service: %v", err)
	}

	// An HTTP/1 server is not a gRPC server.
	h1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(h1.Close)
	u, _ := url.Parse(h1.URL)
	if err := (health.Active{GRPC: &health.GRPC{}}).Probe(context.Background(), u); err == nil {
		t.Error("an HTTP/1 server passed a gRPC health check")
	}
}

func TestParseGRPCCheckResponse(t *testing.T) {
	for _, c := range []struct {
		body   string
		status uint64
		ok     bool
	}{
		{"\x00\x00\x00\x00\x02\x08\x01", 1, true},
		{"\x00\x00\x00\x00\x02\x08\x02", 2, true},
		{"\x00\x00\x00\x00\x00", 0, true},                    // empty message: UNKNOWN
		{"\x00\x00\x00\x00\x07\x12\x03abc\x08\x01", 1, true}, // an unknown field first
		{"\x00\x00\x00\x00\x06\x0d\x00\x00\x00\x00\x08", 0, false},
		{"\x01\x00\x00\x00\x02\x08\x01", 0, false}, // compressed
		{"\x00\x00\x00\x00\x03\x08\x01", 0, false}, // short
		{"\x00\x00\x00", 0, false},
		{"\x00\x00\x00\x00\x02\x12\x05", 0, false}, // length past the end
		{"\x00\x00\x00\x00\x01\x0f", 0, false},     // wire type 7
	} {
		status, err := health.ParseGRPCCheckResponse([]byte(c.body))
		if (err == nil) != c.ok || err == nil && status != c.status {
			t.Errorf("%q: %d %v", c.body, status, err)
		}
	}
}

// FuzzParseGRPCCheckResponse: the answer comes from an instance; no input
// may panic the prober.
func FuzzParseGRPCCheckResponse(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x02\x08\x01"))
	f.Add([]byte("\x00\x00\x00\x00\x07\x12\x03abc\x08\x01"))
	f.Add([]byte("\x00\x00\x00\x00\x0b\x09\x01\x02\x03\x04\x05\x06\x07\x08\x08\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = health.ParseGRPCCheckResponse(b)
	})
}
