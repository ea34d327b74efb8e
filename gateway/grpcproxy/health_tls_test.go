package grpcproxy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// spread makes n calls and counts them by backend.
func spread(t *testing.T, c testpb.TestServiceClient, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		resp, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		seen[resp.GetServerId()]++
	}
	return seen
}

// eventually retries check every 50ms until it is true or 10s passed.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !check(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGRPCHealthChecksEjectNotServing(t *testing.T) {
	const service = "grpc.testing.TestService"
	a, b := startBackend(t, "a"), startBackend(t, "b")
	for _, be := range []*backend{a, b} {
		be.health.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
	}
	g := startGateway(t, fmt.Sprintf(`
upstreams:
  svc:
    protocol: h2c
    balancer: round_robin
    instances: [%q, %q]
    active_health:
      grpc: {service: %s}
      interval: 100ms
      healthy_threshold: 1
      unhealthy_threshold: 1
routes:`+routeTestService, a.addr, b.addr, service))
	c := g.client(t, nil)
	if seen := spread(t, c, 10); seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("both serving: %v", seen)
	}

	b.health.SetServingStatus(service, healthpb.HealthCheckResponse_NOT_SERVING)
	eventually(t, "NOT_SERVING instance ejected", func() bool { return spread(t, c, 4)["b"] == 0 })
	if seen := spread(t, c, 10); seen["a"] != 10 {
		t.Errorf("b NOT_SERVING: %v", seen)
	}

	b.health.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
	eventually(t, "SERVING instance back", func() bool { return spread(t, c, 4)["b"] == 2 })

	// Every instance down: the gateway answers UNAVAILABLE itself.
	a.health.SetServingStatus(service, healthpb.HealthCheckResponse_NOT_SERVING)
	b.health.Shutdown() // every service NOT_SERVING
	eventually(t, "all instances down", func() bool {
		_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		return err != nil
	})
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	wantCode(t, "no healthy instance", err, codes.Unavailable)
}

// pki is a CA generated for the test and a certificate it signed for
// "backend.test" and 127.0.0.1, in files for the YAML and in memory.
type pki struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	cert                      tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "grpc test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "backend.test"},
		DNSNames: []string{"backend.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"),
		pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	for file, block := range map[string]*pem.Block{p.caFile: {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: der}, p.keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if p.cert, err = tls.LoadX509KeyPair(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSEndToEnd runs gRPC over TLS on both legs: the client to the
// gateway's TLS listener (ALPN h2) and the gateway to a TLS upstream
// (protocol h2, the test's private CA), health checks included.
func TestTLSEndToEnd(t *testing.T) {
	p := newPKI(t)
	b := startBackend(t, "tls", grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{p.cert}})))
	g := startGateway(t, fmt.Sprintf(`
tls: {cert_file: %q, key_file: %q}
upstreams:
  svc:
    protocol: h2
    tls: {ca_file: %q, server_name: backend.test}
    instances: [%q]
    active_health: {grpc: {}, interval: 100ms}
  wrong-ca:
    protocol: h2
    instances: [%q]
routes:
  - name: wrong-ca
    path: /grpc.testing.TestService/EmptyCall
    upstream: wrong-ca
`+routeTestService, p.certFile, p.keyFile, p.caFile, b.addr, b.addr))
	c := g.client(t, credentials.NewTLS(&tls.Config{RootCAs: p.pool, ServerName: "backend.test"}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	if err != nil || resp.GetServerId() != "tls" {
		t.Fatalf("unary over TLS both ways: %v %v", resp, err)
	}
	bidi, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := bidi.Send(&testpb.StreamingOutputCallRequest{Payload: payload(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		if m, err := bidi.Recv(); err != nil || string(m.GetPayload().GetBody()) != fmt.Sprint(i) {
			t.Fatalf("bidi over TLS %d: %v %v", i, m, err)
		}
	}
	_ = bidi.CloseSend()

	// The gRPC health checks run over the same TLS: after five rounds
	// (unhealthy after three failures) the instance still serves.
	time.Sleep(500 * time.Millisecond)
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Errorf("after health checks over TLS: %v", err)
	}

	// The system roots do not know the test's CA: the handshake fails and
	// the gateway says UNAVAILABLE.
	_, err = c.EmptyCall(ctx, &testpb.Empty{})
	wantCode(t, "upstream certificate from an unknown CA", err, codes.Unavailable)
}
