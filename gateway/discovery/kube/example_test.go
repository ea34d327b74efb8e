package kube_test

import (
	"context"
	"fmt"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
)

func ExampleNewResolver() {
	// In a cluster: kubernetes.NewForConfig(rest.InClusterConfig()).
	client := fake.NewClientset(slice("users-abc", "users", 8080, "http", ep{ip: "10.0.0.7", pod: "users-7"}))
	r := kube.NewResolver(client, kube.WithNamespace("shop"), kube.WithPort("http"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates := make(chan discovery.Update, 1)
	go func() { _ = r.Watch(ctx, "users", func(u discovery.Update) { updates <- u }) }()
	u := <-updates
	fmt.Println(u.Instances[0].Addr, u.Instances[0].Meta["pod"])
	_ = discoveryv1.LabelServiceName
	// Output: 10.0.0.7:8080 users-7
}
