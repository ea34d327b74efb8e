package kube_test

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatescale/gatescale/adapter/kube"
)

// A Static lister answers the HPA's "pods matching app=web" without a
// cluster.
func ExampleStatic() {
	pods := schema.GroupResource{Resource: "pods"}
	objs := kube.NewStatic(
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "db-1", Labels: map[string]string{"app": "db"}},
	)
	names, _ := objs.List(context.Background(), pods, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}))
	fmt.Println(names)
	// Output: [web-1]
}

// metrics.k8s.io reports Running pods only: select them by phase, as the
// API server does.
func ExampleStatic_ListByFields() {
	pods := schema.GroupResource{Resource: "pods"}
	objs := kube.NewStatic(
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-1", Fields: map[string]string{"status.phase": "Running"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "migrate-x7", Fields: map[string]string{"status.phase": "Succeeded"}},
	)
	refs, _ := objs.ListByFields(context.Background(), pods, "", labels.Everything(), kube.RunningPods)
	fmt.Println(refs)
	// Output: [shop/web-1]
}

// The built-in mapper knows the usual resources by any spelling.
func ExampleStaticMapper() {
	gvr, _ := kube.StaticMapper().ResourceFor(schema.GroupVersionResource{Resource: "deployment"})
	fmt.Println(gvr)
	// Output: apps/v1, Resource=deployments
}

// With a cluster: list objects through its API, with its REST mapper.
func ExampleDynamic() {
	cfg, err := clientcmd.BuildConfigFromFlags("", "/etc/adapter/kubeconfig")
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	objs := &kube.Dynamic{Client: client, Mapper: kube.StaticMapper()}
	names, err := objs.List(context.Background(), schema.GroupResource{Resource: "pods"}, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}))
	fmt.Println(names, err)
}

// A server keeps the objects it is asked about in watch-fed caches: the
// first request for pods starts their informer and waits for its sync;
// later ones match the selector in memory.
func ExampleNewInformed() {
	cfg, err := clientcmd.BuildConfigFromFlags("", "/etc/adapter/kubeconfig")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop() // stops the informers
	objs, err := kube.NewInformed(ctx, cfg, kube.StaticMapper())
	if err != nil {
		fmt.Println(err)
		return
	}
	names, err := objs.List(ctx, schema.GroupResource{Resource: "pods"}, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}))
	fmt.Println(names, err)
}
