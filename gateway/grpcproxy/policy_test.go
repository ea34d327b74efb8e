package grpcproxy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// TestGatewayAnswersInGRPC checks the gateway's own refusals on gRPC
// routes: authentication (API key and JWT in metadata), a rate limit and an
// unrouted service come back as gRPC statuses a grpc-go client decodes.
func TestGatewayAnswersInGRPC(t *testing.T) {
	const secret = "a-jwt-secret-of-at-least-32-bytes-long"
	t.Setenv("GRPC_TEST_JWT_SECRET", secret)
	key := "gsk_grpc-test-key-0123456789"
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
auth:
  api_key: {header: x-api-key}
  jwt:
    corp:
      issuer: https://idp.test
      audiences: [svc]
      algorithms: [HS256]
      secret_env: GRPC_TEST_JWT_SECRET
  forward: {consumer_id: X-Consumer-Id}
consumers:
  - id: alice
    api_keys: [{id: alice-key, sha256: %s}]
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:
  - name: limited
    path: /grpc.testing.TestService/EmptyCall
    upstream: svc
    rate_limit: [{rate: 1, per: 1m, key: ip}]
  - name: test-service
    path_prefix: /grpc.testing.TestService
    upstream: svc
    auth: {methods: [jwt, api_key]}
`, consumer.HashKey(key), b.addr))
	c := g.client(t, nil)
	with := func(kv ...string) context.Context {
		return metadata.NewOutgoingContext(context.Background(), metadata.Pairs(kv...))
	}

	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	wantCode(t, "no credentials", err, codes.Unauthenticated)
	if s, _ := status.FromError(err); s.Message() == "" {
		t.Errorf("refusal without a message: %v", err)
	}
	_, err = c.UnaryCall(with("x-api-key", "gsk_wrong-key-0123456789"), &testpb.SimpleRequest{})
	wantCode(t, "unknown API key", err, codes.Unauthenticated)
	if calls := b.calls.Load(); calls != 0 {
		t.Errorf("refused calls reached the backend %d times", calls)
	}

	resp, err := c.UnaryCall(with("x-api-key", key), &testpb.SimpleRequest{})
	if err != nil || resp.GetUsername() != "alice" {
		t.Errorf("API key in metadata: %v %v (backend saw consumer %q)", resp, err, resp.GetUsername())
	}

	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.MapClaims{"iss": "https://idp.test", "aud": "svc", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	resp, err = c.UnaryCall(with("authorization", "Bearer "+good), &testpb.SimpleRequest{})
	if err != nil || resp.GetUsername() != "alice" {
		t.Errorf("JWT in metadata: %v %v", resp, err)
	}
	expired := sign(jwt.MapClaims{"iss": "https://idp.test", "aud": "svc", "sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()})
	_, err = c.UnaryCall(with("authorization", "Bearer "+expired), &testpb.SimpleRequest{})
	wantCode(t, "expired JWT", err, codes.Unauthenticated)

	// Rate limited: RESOURCE_EXHAUSTED, not UNAVAILABLE (a client must not
	// retry it as an outage).
	if _, err := c.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatalf("first call under the limit: %v", err)
	}
	_, err = c.EmptyCall(context.Background(), &testpb.Empty{})
	wantCode(t, "over the rate limit", err, codes.ResourceExhausted)

	// No route for the health service: UNIMPLEMENTED, as from a server
	// without it.
	_, err = healthpb.NewHealthClient(g.conn(t, nil)).Check(context.Background(), &healthpb.HealthCheckRequest{})
	wantCode(t, "unrouted service", err, codes.Unimplemented)

	for _, w := range []struct {
		route, code string
		want        float64
	}{
		{"test-service", "UNAUTHENTICATED", 3}, {"test-service", "OK", 2},
		{"limited", "OK", 1}, {"limited", "RESOURCE_EXHAUSTED", 1}, {"unmatched", "UNIMPLEMENTED", 1},
	} {
		g.wantCounter(t, "gatescale_grpc_responses_total", map[string]string{"route": w.route, "grpc_code": w.code}, w.want)
	}
	if logs := g.logs.String(); !strings.Contains(logs, `"grpc_status":16`) || !strings.Contains(logs, `"grpc_status":8`) {
		t.Errorf("access log lacks the refusals' grpc_status:\n%s", logs)
	}
}

// TestRefusedBeforeRoutingAnswersInGRPC: a call the route table refuses
// before matching (here more metadata entries than the header count limit)
// is the gateway's own answer too, and must reach a grpc-go client as a
// gRPC status with its message, not as an HTTP 431 with a problem body,
// which the client can only report as UNKNOWN.
func TestRefusedBeforeRoutingAnswersInGRPC(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:`+routeTestService, b.addr))
	c := g.client(t, nil)
	var kv []string
	for i := range 150 {
		kv = append(kv, fmt.Sprintf("x-meta-%d", i), "v")
	}
	ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs(kv...))
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	wantCode(t, "150 metadata entries", err, codes.ResourceExhausted)
	if s, _ := status.FromError(err); !strings.Contains(s.Message(), "header") {
		t.Errorf("refusal message %q does not say what was refused", s.Message())
	}
	if calls := b.calls.Load(); calls != 0 {
		t.Errorf("refused call reached the backend %d times", calls)
	}
	g.wantCounter(t, "gatescale_grpc_responses_total", map[string]string{"route": "(refused)", "grpc_code": "RESOURCE_EXHAUSTED"}, 1)
}
