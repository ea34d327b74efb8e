package kube_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/kube"
	"github.com/gatescale/gatescale/internal/logcapture"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

// updates collects every Update a Watch delivers, in order.
type updates struct {
	mu  sync.Mutex
	all []discovery.Update
}

func (u *updates) fn(up discovery.Update) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.all = append(u.all, up)
}

// waitUpdate polls until an Update delivered after the first from updates
// satisfies ok, and returns it.
func (u *updates) waitUpdate(t *testing.T, from int, what string, ok func(discovery.Update) bool) (discovery.Update, int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		u.mu.Lock()
		for i := from; i < len(u.all); i++ {
			if ok(u.all[i]) {
				up := u.all[i]
				u.mu.Unlock()
				return up, i + 1
			}
		}
		n := len(u.all)
		u.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no update with %s in %d deliveries", what, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestForbiddenReportsError: a gateway whose service account RBAC does not
// let it list EndpointSlices used to wait forever, silently, for a first
// set; the refusal is reported as an Update with Err, as the Consul
// resolver reports an unreachable agent.
func TestForbiddenReportsError(t *testing.T) {
	c := startCluster(t, "forbidden")
	// The "adapter" identity has no role bound in this package's cluster.
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfigs["adapter"])
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	col := &updates{}
	done := make(chan error, 1)
	go func() { done <- kube.NewResolver(client, kube.WithNamespace("forbidden")).Watch(ctx, "api", col.fn) }()
	up, _ := col.waitUpdate(t, 0, "an error", func(u discovery.Update) bool { return u.Err != nil })
	if !strings.Contains(up.Err.Error(), "forbidden") || !strings.Contains(up.Err.Error(), "forbidden/api") {
		t.Errorf("Err = %v, want the API server's refusal naming the service", up.Err)
	}
	if len(up.Instances) != 0 {
		t.Errorf("instances %v before any were known", up.Instances)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch returned %v after ctx ended, want nil", err)
	}
}

// relayedService creates namespace ns with Service api's one endpoint,
// 10.0.0.1:8080, and returns a client that reaches the API server through
// a relay the test can cut.
func relayedService(t *testing.T, ctx context.Context, ns string) (*tcprelay.Relay, kubernetes.Interface) {
	t.Helper()
	c := startCluster(t, ns)
	if _, err := c.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx,
		inNamespace(ns, slice("api-a", "api", 8080, "http", ep{ip: "10.0.0.1", pod: "api-1"})), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rl := tcprelay.Start(t, strings.TrimPrefix(c.Server, "https://"))
	rc := rest.CopyConfig(c.RESTConfig)
	rc.Host = "https://" + rl.Addr
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return rl, client
}

// TestUnreachableMarksStale: an API server the gateway loses after the
// first set was never reported, so the set was never marked stale; now the
// failure is an Update with Err and the last known instances, and the
// next watch clears it with an Update without Err.
func TestUnreachableMarksStale(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rl, client := relayedService(t, ctx, "unreachable")
	col := &updates{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kube.NewResolver(client, kube.WithNamespace("unreachable")).Watch(ctx, "api", col.fn)
	}()
	defer func() { cancel(); <-done }()
	isSet := func(u discovery.Update) bool { return len(u.Instances) == 1 && u.Instances[0].Addr == "10.0.0.1:8080" }
	_, next := col.waitUpdate(t, 0, "the instance", func(u discovery.Update) bool { return u.Err == nil && isSet(u) })

	rl.Cut()
	up, next := col.waitUpdate(t, next, "an error", func(u discovery.Update) bool { return u.Err != nil })
	if !isSet(up) {
		t.Errorf("stale update carries %v, want the last known instance", up.Instances)
	}
	if !strings.Contains(up.Err.Error(), "unreachable/api") {
		t.Errorf("Err = %v, want one naming the service", up.Err)
	}

	rl.Restore(t)
	up, _ = col.waitUpdate(t, next, "no error after reconnecting", func(u discovery.Update) bool { return u.Err == nil })
	if !isSet(up) {
		t.Errorf("after reconnecting: %v, want the instance", up.Instances)
	}
}

// TestResetConnectionsMarkStale: an API server behind a load balancer that
// has nothing behind it (every connection accepted, then closed) was not
// reported for over a minute: client-go retries such a GET ten times, a
// second apart, before it returns, and turns a watch that failed that way
// into an empty watch, not an error. The failure is an Update with Err and
// the last known instances from the first attempt on.
func TestResetConnectionsMarkStale(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rl, client := relayedService(t, ctx, "reset")
	col := &updates{}
	done := make(chan struct{})
	logs := &logcapture.Buffer{}
	go func() {
		defer close(done)
		_ = kube.NewResolver(client, kube.WithNamespace("reset"), kube.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))).Watch(ctx, "api", col.fn)
	}()
	defer func() { cancel(); <-done }()
	isSet := func(u discovery.Update) bool { return len(u.Instances) == 1 && u.Instances[0].Addr == "10.0.0.1:8080" }
	_, next := col.waitUpdate(t, 0, "the instance", func(u discovery.Update) bool { return u.Err == nil && isSet(u) })

	rl.Refuse()
	// The first refused connection is the resolver's first attempt; the
	// error must follow it before client-go's own retries (ten, a second
	// apart) would have ended: count the relay's refusals meanwhile.
	<-rl.Refused()
	refusals := 1
	for {
		col.mu.Lock()
		var got *discovery.Update
		for i := next; i < len(col.all); i++ {
			if col.all[i].Err != nil {
				got = &col.all[i]
				break
			}
		}
		col.mu.Unlock()
		if got != nil {
			if !isSet(*got) {
				t.Errorf("stale update carries %v, want the last known instance", got.Instances)
			}
			if !strings.Contains(got.Err.Error(), "reset/api") {
				t.Errorf("Err = %v, want one naming the service", got.Err)
			}
			break
		}
		if refusals > 3 {
			t.Fatalf("no update with an error after %d refused connections", refusals)
		}
		select {
		case <-rl.Refused():
			refusals++
		case <-time.After(10 * time.Millisecond):
		}
	}
	// No update may say the set is current while nothing gets through.
	col.mu.Lock()
	for i := next; i < len(col.all); i++ {
		if col.all[i].Err == nil {
			t.Errorf("update %d says the set is current while every connection is refused", i)
		}
	}
	n := len(col.all)
	col.mu.Unlock()

	rl.Restore(t)
	up, _ := col.waitUpdate(t, n, "no error after reconnecting", func(u discovery.Update) bool { return u.Err == nil })
	if !isSet(up) {
		t.Errorf("after reconnecting: %v, want the instance", up.Instances)
	}
	// client-go's own warning about the failed watch went to klog's
	// stderr, not to the resolver's logger.
	if got := logs.String(); !strings.Contains(got, "watch ended with error") {
		t.Errorf("client-go's warning is not in the resolver's log:\n%s", got)
	}
}

// TestDialFallbackIsNotAFailure: an API server name with two addresses,
// one refusing (an IPv6 address the server does not listen on), is
// reached on the other; the refused address is not a discovery failure.
// Only an attempt that gets no connection at all is.
func TestDialFallbackIsNotAFailure(t *testing.T) {
	c := startCluster(t, "fallback")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slices := c.Client.DiscoveryV1().EndpointSlices("fallback")
	if _, err := slices.Create(ctx, inNamespace("fallback", slice("api-a", "api", 8080, "http", ep{ip: "10.0.0.1", pod: "api-1"})), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := ln.Addr().String()
	ln.Close()
	rc := rest.CopyConfig(c.RESTConfig)
	server := strings.TrimPrefix(c.Server, "https://")
	var dialer net.Dialer
	// As the dialer does for a name with two addresses: the first refuses.
	rc.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		if conn, err := dialer.DialContext(ctx, network, refusing); err == nil {
			return conn, nil
		}
		return dialer.DialContext(ctx, network, server)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	col := &updates{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kube.NewResolver(client, kube.WithNamespace("fallback")).Watch(ctx, "api", col.fn)
	}()
	defer func() { cancel(); <-done }()
	_, next := col.waitUpdate(t, 0, "the instance", func(u discovery.Update) bool { return len(u.Instances) == 1 })
	// A change comes through the watch: it is running.
	if _, err := slices.Create(ctx, inNamespace("fallback", slice("api-b", "api", 8080, "http", ep{ip: "10.0.0.2", pod: "api-2"})), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	col.waitUpdate(t, next, "both instances", func(u discovery.Update) bool { return len(u.Instances) == 2 })
	col.mu.Lock()
	defer col.mu.Unlock()
	for i, u := range col.all {
		if u.Err != nil {
			t.Errorf("update %d has error %v; every attempt connected", i, u.Err)
		}
	}
}
