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
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/logcapture"
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
	logs := &logcapture.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	rt := live.NewRuntime(live.WithKubernetes(client), live.WithLogger(logger))
	defer rt.Close()
	gw, err := gateway.New(gateway.WithAccessLog(false), gateway.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	c := &spec.Config{
		Upstreams: map[string]spec.Upstream{"b": {Discovery: "kubernetes", Kubernetes: &spec.KubernetesQuery{Namespace: "ns"}}},
		Routes:    []spec.Route{{Name: "r", PathPrefix: "/", Upstream: "b"}},
	}
	if err := live.Validate(c); err != nil {
		t.Fatal(err)
	}
	b, err := rt.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gw.Apply(ctx, b.Gateway); err != nil {
		b.Discard()
		t.Fatal(err)
	}
	b.Commit()
	for !strings.Contains(logs.String(), `"msg":"kube resolver: cannot list or watch EndpointSlices`) {
		if ctx.Err() != nil {
			t.Fatalf("the resolver's warning is not in the runtime's log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
