package grpcproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// TestCallsThroughCORSAndHeaderRules: a gRPC route under the top-level
// cors and with response header rules (a browser's gRPC-Web needs CORS in
// front of it) still carries unary and streaming calls with their
// trailers; the rules reach the call's header metadata, and a call with
// an Origin gets the policy's Access-Control-Allow-Origin.
func TestCallsThroughCORSAndHeaderRules(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
cors:
  allow_origins: ["https://app.example.com"]
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:
  - name: test-service
    path_prefix: /grpc.testing.TestService
    upstream: svc
    headers: {response: {set: {X-Served-By: gatescale}}}
`, b.addr))
	c := g.client(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var hdr metadata.MD
	octx := metadata.AppendToOutgoingContext(ctx, "origin", "https://app.example.com")
	resp, err := c.UnaryCall(octx, &testpb.SimpleRequest{}, grpc.Header(&hdr))
	if err != nil || resp.GetServerId() != "a" {
		t.Fatalf("unary: %v %v", resp, err)
	}
	if got := hdr.Get("access-control-allow-origin"); len(got) != 1 || got[0] != "https://app.example.com" {
		t.Errorf("unary header metadata ACAO %q, want the policy's", got)
	}
	if got := hdr.Get("x-served-by"); len(got) != 1 || got[0] != "gatescale" {
		t.Errorf("unary header metadata X-Served-By %q, want the rule's", got)
	}
	sizes := []int32{1, 1000, 70000}
	var params []*testpb.ResponseParameters
	for _, s := range sizes {
		params = append(params, &testpb.ResponseParameters{Size: s})
	}
	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sizes {
		m, err := out.Recv()
		if err != nil || len(m.GetPayload().GetBody()) != int(s) {
			t.Fatalf("server streaming message %d: %d bytes, %v", i, len(m.GetPayload().GetBody()), err)
		}
	}
	if _, err := out.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("server streaming end: %v, want io.EOF (the trailers' OK status)", err)
	}
}
