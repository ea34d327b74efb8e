package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/live"
)

// TestGRPCUpstreamKeys checks the errors of protocol, tls and
// active_health.grpc, each placed at its key.
func TestGRPCUpstreamKeys(t *testing.T) {
	up := func(body string) string {
		return "upstreams:\n  svc:\n    instances: [127.0.0.1:50051]\n" + body + "routes:\n  - {name: r, path_prefix: /a.B, upstream: svc}\n"
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, doc, want string
	}{
		{"unknown protocol", up("    protocol: http2\n"), `t.yaml:4:15: upstreams.svc.protocol: "http2" is not a protocol (valid: http1, h2c, h2)`},
		{"empty protocol", up("    protocol: \"\"\n"), `upstreams.svc.protocol: "" is not a protocol`},
		{"tls with h2c", up("    protocol: h2c\n    tls: {server_name: a.test}\n"), "t.yaml:5:10: upstreams.svc.tls: is not used with protocol: h2c"},
		{"bad server name", up("    protocol: h2\n    tls: {server_name: \"a b\"}\n"), `upstreams.svc.tls.server_name: "a b" is not a host name`},
		{"empty ca_file", up("    tls: {ca_file: \"\"}\n"), "upstreams.svc.tls.ca_file: must not be empty"},
		{"grpc health over http1", up("    active_health: {grpc: {}}\n"), "t.yaml:4:27: upstreams.svc.active_health.grpc: needs protocol: h2c or h2"},
		{"grpc health with a path", up("    protocol: h2c\n    active_health: {grpc: {}, path: /healthz}\n"), "upstreams.svc.active_health.path: is not used with grpc"},
		{"ca_file missing", up("    protocol: h2\n    tls: {ca_file: /nonexistent/ca.pem}\n"), "upstreams.svc.tls.ca_file: open /nonexistent/ca.pem"},
		{"ca_file not PEM", up("    protocol: h2\n    tls: {ca_file: " + notPEM + "}\n"), "upstreams.svc.tls.ca_file: " + notPEM + " holds no PEM certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse("t.yaml", []byte(c.doc))
			if err == nil {
				err = l.Check(live.NewRuntime())
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
	l, err := Parse("t.yaml", []byte(up("    protocol: h2\n    tls: {server_name: svc.internal}\n    active_health: {grpc: {service: a.B}}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(live.NewRuntime()); err != nil {
		t.Errorf("valid gRPC upstream: %v", err)
	}
}

// TestGRPCTransportKeptAcrossReloads: a reload that keeps an upstream's
// protocol and TLS keeps its transport (and so the upstream, with its
// health state: the specs compare equal); a changed setting gets a new one.
func TestGRPCTransportKeptAcrossReloads(t *testing.T) {
	doc := func(serverName string) string {
		return "upstreams:\n  svc:\n    instances: [127.0.0.1:50051]\n    protocol: h2\n    tls: {server_name: " + serverName +
			"}\n    active_health: {grpc: {}}\nroutes:\n  - {name: r, path_prefix: /a.B, upstream: svc}\n"
	}
	rt := live.NewRuntime()
	t.Cleanup(rt.Close)
	build := func(serverName string) gateway.UpstreamSpec {
		t.Helper()
		l, err := Parse("t.yaml", []byte(doc(serverName)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := l.Build(rt)
		if err != nil {
			t.Fatal(err)
		}
		b.Commit()
		return b.Gateway.Upstreams[0]
	}
	first, again := build("a.internal"), build("a.internal")
	if first.Transport == nil || first.Transport != again.Transport || !reflect.DeepEqual(first, again) {
		t.Errorf("same settings, new transport or unequal spec:\n%+v\n%+v", first, again)
	}
	if other := build("b.internal"); other.Transport == first.Transport {
		t.Error("a changed server_name kept the transport")
	}
}
