package live_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/logcapture"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestKubernetesDiscoveryLogsToRuntimeLogger: the Kubernetes resolver
// logged to slog's default logger, so `gatescale run`'s discovery warnings
// left its configured log (format, level, destination) for stderr's text.
func TestKubernetesDiscoveryLogsToRuntimeLogger(t *testing.T) {
	// An API server address nothing listens on: every list is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + addr, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	logs := applyLogged(t, &spec.Config{
		Upstreams: map[string]spec.Upstream{"b": {Discovery: "kubernetes", Kubernetes: &spec.KubernetesQuery{Namespace: "ns"}}},
		Routes:    []spec.Route{{Name: "r", PathPrefix: "/", Upstream: "b"}},
	}, live.WithKubernetes(client))
	waitLogged(t, logs, "kube resolver: cannot list or watch EndpointSlices")
}

// TestConsulDiscoveryLogsToRuntimeLogger: the Consul resolver's warnings
// go to the runtime's logger, as the Kubernetes resolver's do, not to
// slog's default logger: a real Consul, reached through a relay the test
// cuts once the service is resolved.
func TestConsulDiscoveryLogsToRuntimeLogger(t *testing.T) {
	agent := consultest.Start(t)
	relay := tcprelay.Start(t, agent.Addr)
	reg, err := consul.Register(context.Background(), agent.Client, consul.Registration{Name: "b", Address: "127.0.0.1", Port: 9301},
		consul.WithRegistrarLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Deregister(context.Background()) }()
	logs := applyLogged(t, &spec.Config{
		Consul:    &spec.ConsulAgent{Address: relay.Addr},
		Upstreams: map[string]spec.Upstream{"b": {Discovery: "consul"}},
		Routes:    []spec.Route{{Name: "r", PathPrefix: "/", Upstream: "b"}},
	})
	relay.Cut()
	waitLogged(t, logs, "consul resolver: cannot query the service's health")
}

// applyLogged builds c with a runtime made with opts, logging as JSON to
// the returned buffer, and applies it to a gateway logging there too;
// Apply waits for discovery's first answer. Both close with the test.
func applyLogged(t *testing.T, c *spec.Config, opts ...live.Option) *logcapture.Buffer {
	t.Helper()
	logs := &logcapture.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	rt := live.NewRuntime(append(opts, live.WithLogger(logger))...)
	t.Cleanup(rt.Close)
	gw, err := gateway.New(gateway.WithAccessLog(false), gateway.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	if err := live.Validate(c); err != nil {
		t.Fatal(err)
	}
	b, err := rt.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Apply(t.Context(), b.Gateway); err != nil {
		b.Discard()
		t.Fatal(err)
	}
	b.Commit()
	return logs
}

// waitLogged waits up to 30 s for a line with msg in logs.
func waitLogged(t *testing.T, logs *logcapture.Buffer, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"`+msg) {
		if time.Now().After(deadline) {
			t.Fatalf("the resolver's warning is not in the runtime's log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
