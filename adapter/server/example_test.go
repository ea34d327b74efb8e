package server_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/provider"
	"github.com/gatescale/gatescale/adapter/server"
)

// Serve custom and external metrics on :6443, with delegated
// authentication and authorization (the usual in-cluster setup).
func ExampleNew() {
	c, _ := prom.New(prom.Config{URL: "http://prometheus.monitoring:9090"})
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{})
	p, err := provider.New(config.GatewayPreset(time.Minute), provider.Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper()})
	if err != nil {
		fmt.Println(err)
		return
	}
	o := server.NewOptions()
	o.External = false // KEDA serves external.metrics.k8s.io in this cluster
	srv, err := server.New(o, server.Providers{Custom: p, External: p, Resource: p})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go disc.Run(ctx)
	_ = srv.Run(ctx)
}

// The defaults: custom and external metrics, resource metrics off.
func ExampleNewOptions() {
	o := server.NewOptions()
	fmt.Println(o.Custom, o.External, o.Resource, o.SecureServing.BindPort)
	// Output: true true false 6443
}
