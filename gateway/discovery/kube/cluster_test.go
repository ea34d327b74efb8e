package kube_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatescale/gatescale/gateway/discovery/kube"
	"github.com/gatescale/gatescale/test/e2e/cluster"
)

// The package's tests share one control plane: starting etcd and a
// kube-apiserver costs more than the tests themselves. Each test uses a
// namespace of its own.
var shared struct {
	once sync.Once
	c    *cluster.Cluster
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// startCluster returns the package's real kube-apiserver (and etcd) from
// .cache/kube, started on first use, or skips (fails with
// GATESCALE_REQUIRE_REAL) without one. It creates namespace ns.
func startCluster(t *testing.T, ns string) *cluster.Cluster {
	t.Helper()
	shared.once.Do(func() {
		root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
		if shared.dir, shared.err = os.MkdirTemp("", "kube-resolver-"); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		shared.c, shared.err = cluster.Start(ctx, cluster.Options{Dir: shared.dir, BinDir: filepath.Join(root, ".cache", "kube")})
	})
	if shared.err != nil {
		if os.Getenv("GATESCALE_REQUIRE_REAL") != "" {
			t.Fatalf("control plane not available (hack/build-kube.sh, hack/install-debs.sh etcd-server): %v", shared.err)
		}
		t.Skipf("control plane not available: %v", shared.err)
	}
	if _, err := shared.c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return shared.c
}

// TestTerminatingServingFallback: when every endpoint of a Service is
// terminating (a single-replica Deployment drained off its node, a Recreate
// rollout) but still serving, kube-proxy keeps sending to them rather than
// dropping the traffic; so must the gateway. As soon as a ready endpoint
// exists the terminating ones get no new requests again.
func TestTerminatingServingFallback(t *testing.T) {
	c := startCluster(t, "terminating")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slices := c.Client.DiscoveryV1().EndpointSlices("terminating")
	s := inNamespace("terminating", slice("api-a", "api", 8080, "http",
		ep{ip: "10.0.0.1", ready: ptr(true), pod: "api-1"},
		ep{ip: "10.0.0.2", ready: ptr(false), terminate: ptr(true), pod: "api-2"}))
	s.Endpoints[1].Conditions.Serving = ptr(true)
	s, err := slices.Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kube.NewResolver(c.Client, kube.WithNamespace("terminating"), kube.WithPort("http")).Watch(ctx, "api", col.fn)
	}()
	defer func() { cancel(); <-done }()
	waitAddrs(t, col, "10.0.0.1:8080") // a ready one exists: the terminating one gets nothing

	// The ready pod starts terminating too; both still serve. Neither is
	// ready, so the serving ones carry the traffic.
	s.Endpoints[0].Conditions = discoveryv1.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}
	if s, err = slices.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAddrs(t, col, "10.0.0.1:8080", "10.0.0.2:8080")

	// One stops serving (its server closed): only the other is left.
	s.Endpoints[1].Conditions.Serving = ptr(false)
	if _, err = slices.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAddrs(t, col, "10.0.0.1:8080")

	// A replacement becomes ready in another slice: it alone takes new work.
	if _, err := slices.Create(ctx, inNamespace("terminating", slice("api-b", "api", 8080, "http", ep{ip: "10.0.0.3", ready: ptr(true), pod: "api-3"})), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAddrs(t, col, "10.0.0.3:8080")
}

// TestDualStackOneInstancePerPod: a dual-stack Service has one EndpointSlice
// per address family, so every pod is listed twice, once per family. The
// gateway must see one instance per pod, not two: otherwise ejecting a
// failing pod takes out only one of its addresses and it keeps half its
// traffic, and every count (instances, ejection percentages) is doubled.
// IPv4 is preferred when a pod has both; a pod with one family keeps it.
func TestDualStackOneInstancePerPod(t *testing.T) {
	c := startCluster(t, "dualstack")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v4 := inNamespace("dualstack", slice("api-v4", "api", 8080, "http", ep{ip: "10.0.0.1", pod: "api-1"}, ep{ip: "10.0.0.2", pod: "api-2"}))
	v6 := inNamespace("dualstack", slice("api-v6", "api", 8080, "http", ep{ip: "fd00::1", pod: "api-1"}, ep{ip: "fd00::2", pod: "api-2"}, ep{ip: "fd00::3", pod: "api-3"}))
	v6.AddressType = discoveryv1.AddressTypeIPv6
	for _, s := range []*discoveryv1.EndpointSlice{v6, v4} {
		if _, err := c.Client.DiscoveryV1().EndpointSlices("dualstack").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	col := &collector{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kube.NewResolver(c.Client, kube.WithNamespace("dualstack")).Watch(ctx, "api", col.fn)
	}()
	defer func() { cancel(); <-done }()
	waitAddrs(t, col, "10.0.0.1:8080", "10.0.0.2:8080", "[fd00::3]:8080")
}

// inNamespace moves s (made by slice, in "shop") to ns.
func inNamespace(ns string, s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	s.Namespace = ns
	return s
}
