package consul_test

import (
	"context"
	"fmt"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A route whose instances come from Consul. The client reads
// CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN and the rest of Consul's environment.
func ExampleNewResolver() {
	client, err := consul.NewClient("", "")
	if err != nil {
		panic(err)
	}
	cfg := gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{
			Name: "users",
			Resolver: consul.NewResolver(client, consul.WithTags("v1"), consul.WithFilter(`Service.Meta.region == "eu"`),
				consul.WithStale(true)), // any server answers: reads spread, and go on without a leader
		}},
		Routes: []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users"}}},
	}
	fmt.Println(len(cfg.Upstreams), "upstream from Consul")
	// Output: 1 upstream from Consul
}

// A backend registers itself when it starts and deregisters on shutdown.
// (Compiled, not run: it would register with whatever agent is local.)
func ExampleRegister() {
	client, _ := consul.NewClient("", "")
	ctx := context.Background()
	reg, err := consul.Register(ctx, client, consul.Registration{
		Name: "users", Address: "10.0.0.5", Port: 8080,
		HealthURL: "http://10.0.0.5:8080/readyz", // the agent probes it; omit for a TTL check
	})
	if err != nil {
		panic(err)
	}
	defer reg.Deregister(ctx)
}

// NewClient only builds the client: it does not dial, so it succeeds with
// no agent running; a non-empty addr or token wins over the environment. An
// address the Consul client cannot use is refused at once.
func ExampleNewClient() {
	client, err := consul.NewClient("http://127.0.0.1:8500", "a-token")
	fmt.Println(client != nil, err)

	_, err = consul.NewClient("tcp://127.0.0.1:8500", "")
	fmt.Println(err)
	// Output:
	// true <nil>
	// Unknown protocol scheme: tcp
}
