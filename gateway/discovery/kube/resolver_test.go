package kube_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
)

func ptr[T any](v T) *T { return &v }

type ep struct {
	ip               string
	ready, terminate *bool
	pod              string
}

func slice(name, svc string, port int32, portName string, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr(portName), Port: ptr(port), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{e.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Terminating: e.terminate},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: e.pod},
		})
	}
	return s
}

type collector struct {
	mu   sync.Mutex
	last discovery.Update
	n    int
}

func (c *collector) fn(u discovery.Update) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.n = u, c.n+1
}

func (c *collector) addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, i := range c.last.Instances {
		out = append(out, i.Addr)
	}
	sort.Strings(out)
	return out
}

func waitAddrs(t *testing.T, c *collector, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := c.addrs()
		if len(got) == len(want) {
			same := true
			for i := range got {
				same = same && got[i] == want[i]
			}
			if same {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestResolverFollowsEndpointSlices(t *testing.T) {
	c := startCluster(t, "follows")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slices := c.Client.DiscoveryV1().EndpointSlices("follows")
	for _, s := range []*discoveryv1.EndpointSlice{
		slice("api-a", "api", 8080, "http", ep{ip: "10.0.0.1", pod: "api-1"}, ep{ip: "10.0.0.2", ready: ptr(true), pod: "api-2"}),
		slice("api-b", "api", 8080, "http", ep{ip: "10.0.0.3", ready: ptr(false), pod: "api-3"}),
		slice("other", "other", 9000, "http", ep{ip: "10.0.9.9"}),
	} {
		if _, err := slices.Create(ctx, inNamespace("follows", s), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r := kube.NewResolver(c.Client, kube.WithNamespace("follows"), kube.WithPort("http"))
	col := &collector{}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Watch(ctx, "api", col.fn) }()
	defer func() { cancel(); <-done }()

	// Slices are merged; not-ready endpoints and other services are left out.
	waitAddrs(t, col, "10.0.0.1:8080", "10.0.0.2:8080")
	col.mu.Lock()
	pod := col.last.Instances[0].Meta["pod"]
	col.mu.Unlock()
	if pod != "api-1" {
		t.Errorf("pod meta = %q", pod)
	}
	update := func(s *discoveryv1.EndpointSlice) {
		t.Helper()
		cur, err := slices.Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Endpoints = s.Endpoints
		if _, err := slices.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// A pod starts terminating: it gets no new requests.
	update(slice("api-a", "api", 8080, "http", ep{ip: "10.0.0.1", pod: "api-1"}, ep{ip: "10.0.0.2", ready: ptr(false), terminate: ptr(true), pod: "api-2"}))
	waitAddrs(t, col, "10.0.0.1:8080")

	// The not-ready one becomes ready.
	update(slice("api-b", "api", 8080, "http", ep{ip: "10.0.0.3", ready: ptr(true), pod: "api-3"}))
	waitAddrs(t, col, "10.0.0.1:8080", "10.0.0.3:8080")

	// All slices gone: an honest empty set.
	for _, n := range []string{"api-a", "api-b"} {
		if err := slices.Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitAddrs(t, col)
}

func TestResolverPortByNameAndNamespacedNames(t *testing.T) {
	c := startCluster(t, "edge")
	s := inNamespace("edge", slice("web-a", "web", 8443, "https", ep{ip: "10.1.0.1"}))
	s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr("metrics"), Port: ptr(int32(9090))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Client.DiscoveryV1().EndpointSlices("edge").Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kube.NewResolver(c.Client, kube.WithPort("metrics")).Watch(ctx, "edge/web", col.fn)
	}()
	defer func() { cancel(); <-done }()
	waitAddrs(t, col, "10.1.0.1:9090")
	if err := kube.NewResolver(c.Client).Watch(ctx, "/web", func(discovery.Update) {}); err == nil {
		t.Error("a malformed service name was accepted")
	}
}
