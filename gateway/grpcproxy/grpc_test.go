package grpcproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// backend is a real grpc-go server of the interop TestService (and the
// standard health service) on a loopback listener that the test can kill
// as a crash would: every TCP connection closed, nothing more said.
type backend struct {
	testpb.UnimplementedTestServiceServer
	id     string
	addr   string
	srv    *grpc.Server
	ln     *killableListener
	health *health.Server
	quit   chan struct{} // ends handlers that ignore their context

	deadline atomic.Int64 // time left before the deadline of the last UnaryCall, -1 for none
	calls    atomic.Int64
	ended    atomic.Int64 // sleeping UnaryCalls ended by their context
}

func startBackend(t testing.TB, id string, opts ...grpc.ServerOption) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{id: id, addr: ln.Addr().String(), ln: &killableListener{Listener: ln},
		srv: grpc.NewServer(opts...), health: health.NewServer(), quit: make(chan struct{})}
	testpb.RegisterTestServiceServer(b.srv, b)
	healthpb.RegisterHealthServer(b.srv, b.health)
	go func() { _ = b.srv.Serve(b.ln) }()
	t.Cleanup(func() { close(b.quit); b.srv.Stop() })
	return b
}

// kill closes the listener and every connection, as the host of a crashed
// process does.
func (b *backend) kill() { b.ln.kill() }

func (b *backend) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (b *backend) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	b.calls.Add(1)
	left := int64(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = int64(time.Until(dl))
	}
	b.deadline.Store(left)
	if string(req.GetPayload().GetBody()) == "sleep" {
		select {
		case <-ctx.Done():
			b.ended.Add(1)
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-time.After(10 * time.Second):
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return &testpb.SimpleResponse{ServerId: b.id, Username: strings.Join(md.Get("x-consumer-id"), ",")}, nil
}

func (b *backend) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for _, p := range req.GetResponseParameters() {
		time.Sleep(time.Duration(p.GetIntervalUs()) * time.Microsecond)
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	if string(req.GetPayload().GetBody()) == "hang" {
		// Ignore the context: only the gateway can end this call now.
		<-b.quit
	}
	return nil
}

func (b *backend) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
	total := 0
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

func (b *backend) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

type killableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *killableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *killableListener) kill() {
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// gatewayUnderTest is a gateway.Server built from a YAML document, as
// cmd/gatescale builds it.
type gatewayUnderTest struct {
	addr string
	reg  *prometheus.Registry
	logs *logcapture.Buffer
}

func startGateway(t testing.TB, doc string) *gatewayUnderTest {
	t.Helper()
	loaded, err := config.Parse("grpc.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayUnderTest{reg: prometheus.NewRegistry(), logs: &logcapture.Buffer{}}
	logger := slog.New(slog.NewJSONHandler(g.logs, nil))
	rt := live.NewRuntime(live.WithRegistry(g.reg), live.WithLogger(logger))
	t.Cleanup(rt.Close)
	gw, err := gateway.New(append(loaded.GatewayOptions(), gateway.WithRegistry(g.reg), gateway.WithLogger(logger))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	if err := loaded.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := loaded.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &gateway.Server{Gateway: gw, Handler: gw, Listener: ln, TLSConfig: tlsConfig,
		DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second, Logger: logger}
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

// client dials the gateway: h2c with insecure credentials, else TLS.
func (g *gatewayUnderTest) client(t *testing.T, creds credentials.TransportCredentials) testpb.TestServiceClient {
	t.Helper()
	return testpb.NewTestServiceClient(g.conn(t, creds))
}

// conn is a client connection to the gateway (nil creds: h2c).
func (g *gatewayUnderTest) conn(t *testing.T, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient("passthrough:///"+g.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// wantCounter waits for a counter series to reach want: a call's series
// are updated when the gateway's handler returns, which may be just after
// the client got its answer.
func (g *gatewayUnderTest) wantCounter(t *testing.T, name string, labels map[string]string, want float64) {
	t.Helper()
	var got float64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got = g.counter(t, name, labels); got == want || time.Now().After(deadline) {
			break
		}
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// counter returns the value of a counter series with these labels.
func (g *gatewayUnderTest) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func payload(s string) *testpb.Payload { return &testpb.Payload{Body: []byte(s)} }

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

const routeTestService = `
  - name: test-service
    path_prefix: /grpc.testing.TestService
    upstream: svc
`

func TestFourKindsOfCallsThroughTheGateway(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:`+routeTestService, b.addr))
	c := g.client(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Unary.
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	if err != nil || resp.GetServerId() != "a" {
		t.Fatalf("unary: %v %v", resp, err)
	}

	// Server streaming: every message arrives, and the trailers with OK.
	sizes := []int32{1, 10, 100, 1000, 70000}
	var params []*testpb.ResponseParameters
	for _, s := range sizes {
		params = append(params, &testpb.ResponseParameters{Size: s, IntervalUs: 2000})
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
		t.Fatalf("server streaming end: %v", err)
	}

	// Client streaming, more than a flow-control window in total.
	in, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range 40 {
		n := 1000 * (i + 1)
		total += n
		if err := in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := in.CloseAndRecv()
	if err != nil || int(sum.GetAggregatedPayloadSize()) != total {
		t.Fatalf("client streaming: %v %v, want %d", sum, err, total)
	}

	// Bidi in lock step: each answer must come back before the next
	// message is sent, which only works if nothing on the way buffers.
	bidi, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		msg := fmt.Sprintf("ping %d", i)
		if err := bidi.Send(&testpb.StreamingOutputCallRequest{Payload: payload(msg)}); err != nil {
			t.Fatal(err)
		}
		got, err := bidi.Recv()
		if err != nil || string(got.GetPayload().GetBody()) != msg {
			t.Fatalf("bidi %d: %q %v", i, got.GetPayload().GetBody(), err)
		}
	}
	if err := bidi.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := bidi.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi end: %v", err)
	}

	// An upstream's own status passes through.
	_, err = c.UnimplementedCall(ctx, &testpb.Empty{})
	wantCode(t, "unimplemented method at the upstream", err, codes.Unimplemented)

	// Metrics and access log carry grpc-status.
	g.wantCounter(t, "gatescale_grpc_responses_total", map[string]string{"route": "test-service", "grpc_code": "OK"}, 4)
	g.wantCounter(t, "gatescale_grpc_responses_total", map[string]string{"route": "test-service", "grpc_code": "UNIMPLEMENTED"}, 1)
	logs := g.logs.String()
	if !strings.Contains(logs, `"path":"/grpc.testing.TestService/FullDuplexCall"`) || !strings.Contains(logs, `"grpc_status":0`) || !strings.Contains(logs, `"grpc_status":12`) {
		t.Errorf("access log lacks the calls' grpc_status:\n%s", logs)
	}
}

func TestDeadlines(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:
  - name: short
    path: /grpc.testing.TestService/StreamingOutputCall
    upstream: svc
    timeout: 400ms
  - name: test-service
    path_prefix: /grpc.testing.TestService
    upstream: svc
    timeout: 400ms
`, b.addr))
	c := g.client(t, nil)

	// The client's deadline reaches the backend (less than 400ms is the
	// route's; a longer client deadline is cut to the route's).
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	cancel()
	if left := time.Duration(b.deadline.Load()); err != nil || left <= 100*time.Millisecond || left > 300*time.Millisecond {
		t.Errorf("client deadline 300ms: backend saw %v left (%v)", left, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	cancel()
	if left := time.Duration(b.deadline.Load()); err != nil || left <= 200*time.Millisecond || left > 400*time.Millisecond {
		t.Errorf("client deadline 1h under a 400ms route: backend saw %v left (%v)", left, err)
	}

	// Without a client deadline the route's still reaches the backend and
	// cuts a longer call.
	start := time.Now()
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: payload("sleep")})
	wantCode(t, "unary call longer than the route timeout", err, codes.DeadlineExceeded)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cut after %v, want about 400ms", d)
	}
	if left := time.Duration(b.deadline.Load()); left <= 0 || left > 400*time.Millisecond {
		t.Errorf("route deadline 400ms: backend saw %v left", left)
	}

	// A stream that has started is ended with DEADLINE_EXCEEDED by the
	// gateway, even though the backend ignores its deadline.
	out, err := c.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: 10}}, Payload: payload("hang")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	start = time.Now()
	_, err = out.Recv()
	wantCode(t, "stream past the route timeout", err, codes.DeadlineExceeded)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stream cut after %v, want about 400ms", d)
	}

	g.wantCounter(t, "gatescale_grpc_responses_total", map[string]string{"route": "test-service", "grpc_code": "DEADLINE_EXCEEDED"}, 1)
}

// TestCancelReachesBackend: a client that gives up cancels the call at the
// backend too (the gateway resets the upstream stream).
func TestCancelReachesBackend(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:`+routeTestService, b.addr))
	c := g.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("sleep")})
	wantCode(t, "cancelled call", err, codes.Canceled)
	eventually(t, "backend call ended by the cancellation", func() bool { return b.ended.Load() == 1 })
}

func TestUpstreamKilledMidStream(t *testing.T) {
	b := startBackend(t, "a")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    instances: [%q]
routes:`+routeTestService, b.addr))
	c := g.client(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: 10}}, Payload: payload("hang")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	start := time.Now()
	b.kill()
	_, err = out.Recv()
	wantCode(t, "stream whose upstream died", err, codes.Unavailable)
	t.Logf("client saw %v %v after the kill", status.Code(err), time.Since(start))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("client saw the end after %v", d)
	}

	// The line is written when the handler returns, just after the client
	// got its status.
	eventually(t, "access log line of the broken stream", func() bool {
		return strings.Contains(g.logs.String(), `"error":"upstream stream broke","grpc_status":14`)
	})

	// Further calls: the instance is gone, the gateway says UNAVAILABLE.
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	wantCode(t, "call to a dead upstream", err, codes.Unavailable)
}

func TestBalancingAcrossInstances(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    balancer: round_robin
    instances: [%q, %q]
routes:`+routeTestService, a.addr, b.addr))
	c := g.client(t, nil)
	seen := map[string]int{}
	for range 20 {
		resp, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		seen[resp.GetServerId()]++
	}
	// One client connection to the gateway; the gateway spreads its calls.
	if seen["a"] != 10 || seen["b"] != 10 {
		t.Errorf("round robin over 20 calls: %v", seen)
	}
}
