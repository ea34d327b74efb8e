package consul_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestNotReadyUntilDiscoveryAnswers: a gateway started while Consul was
// unreachable reported ready at once, with no instance: Kubernetes sent it
// traffic (a rollout replaced working replicas with it) and every request
// got 503. It is ready once discovery has answered; after that a reload
// whose new upstream cannot be resolved does not take every replica out
// of the Service at once.
func TestNotReadyUntilDiscoveryAnswers(t *testing.T) {
	agent := consultest.Start(t)
	in := startInstance(t, agent, 1)
	until(t, 10*time.Second, "the instance passing its check", func() bool {
		passing, _, err := agent.Client.Health().Service("api", "", true, nil)
		return err == nil && len(passing) == 1
	})
	relay := tcprelay.Start(t, agent.Addr)
	client, err := consul.NewClient(relay.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	resolver := consul.NewResolver(client, consul.WithBackoff(10*time.Millisecond, 50*time.Millisecond), consul.WithLogger(quiet))
	gw, err := gateway.New(gateway.WithLogger(quiet), gateway.WithReadyTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	relay.Cut()
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "api", Resolver: resolver}},
		Routes:    []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/", Upstream: "api"}}},
	}
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The resolver has failed by now (Apply waited for its first word).
	err = gw.Ready()
	if err == nil {
		t.Fatal("ready while discovery has never answered")
	}
	if !strings.Contains(err.Error(), "upstream api") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready() = %v, want the upstream and why it is not resolved", err)
	}

	relay.Restore(t)
	until(t, 10*time.Second, "ready once Consul answers", func() bool { return gw.Ready() == nil })
	srv := httptest.NewServer(gw)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || in.hits.Load() != 1 {
		t.Fatalf("once ready: %s, instance hits %d; want 200 from the instance", resp.Status, in.hits.Load())
	}

	// A reload adding an upstream that cannot be resolved keeps the
	// gateway ready: its other routes still serve.
	relay.Cut()
	cfg.Upstreams = append(cfg.Upstreams, gateway.UpstreamSpec{Name: "other", Resolver: resolver})
	cfg.Routes = append(cfg.Routes, route.Route{Route: spec.Route{Name: "other", PathPrefix: "/other", Upstream: "other"}})
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := gw.Ready(); err != nil {
		t.Errorf("not ready after a reload added an unresolved upstream: %v", err)
	}
}
