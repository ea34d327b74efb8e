package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/internal/demo"
	"github.com/gatescale/gatescale/internal/loadgen"
)

// The key acceptance: a real Prometheus scrapes a real gateway (with its
// demo backends) under a known load of 20 requests per second; the
// adapter, with the zero-config gateway preset, answers the HPA's
// questions over HTTPS, through k8s.io/metrics' typed clients, with that
// rate within 10%: per pod, for the deployment, and as an external metric.
// `gatescale-adapter query` then shows the same value and its PromQL.
func TestGatewayRateThroughAdapter(t *testing.T) {
	const qps = 20.0
	const ns, pod = "gatescale", "gatescale-gw-7d9f-abcde"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The gateway, its backends and admin listener (/metrics).
	type addrs struct{ gw, admin net.Addr }
	started := make(chan addrs, 1)
	demoDone := make(chan error, 1)
	go func() {
		demoDone <- demo.Run(ctx, demo.Options{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", NoLoad: true,
			Started: func(gw, admin net.Addr) { started <- addrs{gw, admin} }})
	}()
	var a addrs
	select {
	case a = <-started:
	case err := <-demoDone:
		t.Fatalf("demo: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-demoDone; err != nil {
			t.Errorf("demo: %v", err)
		}
	})

	// Prometheus scrapes the gateway as Kubernetes service discovery
	// would label it.
	p := promtest.Start(t, promtest.Options{})
	p.SetTargets(t, promtest.Target{Addr: a.admin.String(), Labels: map[string]string{
		"namespace": ns, "pod": pod, "service": "gatescale-gw", "deployment": "gatescale-gw"}})

	// A known rate, open loop, for the whole test.
	loadStart := time.Now()
	var load loadgen.Result
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		r := &loadgen.Runner{
			Profile: loadgen.Profile{{Duration: 3 * time.Minute, From: qps, To: qps}},
			NewRequest: func(ctx context.Context, n int64) (*http.Request, error) {
				paths := []string{"/users/42", "/orders/1001", "/api/catalog/items"}
				return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.gw.String()+paths[n%3], nil)
			},
		}
		load = r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		loadWG.Wait()
		t.Logf("load: sent %d, ok %d, failed %d", load.Sent, load.OK, load.Failed)
	})

	// The adapter with no configuration: the gateway preset, whose rate
	// window is set to 10s so that a few seconds of load fill it.
	objs := kube.NewStatic(kube.Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: ns, Name: pod, Labels: map[string]string{"app": "gatescale-gw"}})
	_, rc := startAdapter(t, objs, "--prometheus-url", p.URL, "--rate-window", "10s", "--metrics-relist-interval", "1s")

	// Wait until Prometheus holds more than a rate window of samples: a
	// series younger than the window has a rate() that is too low, since
	// rate() extrapolates only half a scrape interval past its first
	// sample. (An HPA sees the same for a pod's first window.)
	p.WaitFor(t, `count_over_time(gatescale_http_requests_total{route="users",code="200"}[15s]) >= 12`, 1, 45*time.Second)
	t.Logf("Prometheus has 12 samples %.1fs after the load started", time.Since(loadStart).Seconds())

	within := func(what string, got float64) {
		t.Helper()
		t.Logf("%s = %.3f (want %.0f ± 10%%)", what, got, qps)
		if math.Abs(got-qps) > 0.1*qps {
			t.Errorf("%s = %.3f, want %.0f within 10%%", what, got, qps)
		}
	}

	dc := discovery.NewDiscoveryClientForConfigOrDie(rc)
	cm := customclient.NewForConfig(rc, kube.StaticMapper(), customclient.NewAvailableAPIsGetter(dc))
	// What the HPA asks for a Pods metric: the pods of its target by
	// label selector.
	list, err := cm.NamespacedMetrics(ns).GetForObjects(schema.GroupKind{Kind: "Pod"}, labels.SelectorFromSet(labels.Set{"app": "gatescale-gw"}), config.GatewayRequestsPerSecond, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].DescribedObject.Name != pod {
		t.Fatalf("pods: %+v", list.Items)
	}
	it := list.Items[0]
	within("custom metric pods/"+pod, it.Value.AsApproximateFloat64())
	if it.WindowSeconds == nil || *it.WindowSeconds != 10 || time.Since(it.Timestamp.Time) > 5*time.Second {
		t.Errorf("window %v, timestamp %v", it.WindowSeconds, it.Timestamp)
	}
	// An Object metric on the Deployment.
	dep, err := cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "gatescale-gw", config.GatewayRequestsPerSecond, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	within("custom metric deployments.apps/gatescale-gw", dep.Value.AsApproximateFloat64())
	// The p99 latency per pod is served too (classic buckets: Prometheus
	// 2.42 without native histograms).
	p99, err := cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Kind: "Pod"}, pod, config.GatewayRequestDurationP99, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if v := p99.Value.AsApproximateFloat64(); v <= 0 || v > 1 {
		t.Errorf("p99 latency %v s", v)
	} else {
		t.Logf("custom metric %s = %s", config.GatewayRequestDurationP99, p99.Value.String())
	}

	// The external metric: all replicas of the namespace.
	em, err := externalclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := em.NamespacedMetrics(ns).List(config.GatewayRequestsPerSecond, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.Items) != 1 {
		t.Fatalf("external: %+v", ext.Items)
	}
	within("external metric", ext.Items[0].Value.AsApproximateFloat64())
	// Narrowed by a metric selector: one route of three gets a third.
	users, err := em.NamespacedMetrics(ns).List(config.GatewayRequestsPerSecond, labels.SelectorFromSet(labels.Set{"route": "users"}))
	if err != nil || len(users.Items) != 1 || math.Abs(users.Items[0].Value.AsApproximateFloat64()-qps/3) > 0.1*qps/3 {
		t.Errorf("external metric for route=users: %+v %v", users, err)
	}

	// The adapter's own metrics are on its /metrics.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	resp, err := hc.Get(rc.Host + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`gatescale_adapter_requests_total{api="custom",result="ok"}`, `gatescale_adapter_requests_total{api="external",result="ok"}`,
		"gatescale_adapter_discovered_series", `gatescale_adapter_prometheus_query_duration_seconds_count{api="custom"}`, `gatescale_adapter_served_metrics{api="custom"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The query subcommand prints what the HPA sees and the PromQL.
	var out bytes.Buffer
	err = run(ctx, []string{"query", "--prometheus-url", p.URL, "--rate-window", "10s", "-o", "json", "-n", ns, "pods/" + pod, config.GatewayRequestsPerSecond}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("query: %v\n%s", err, out.String())
	}
	var qr queryResult
	if err := json.Unmarshal(out.Bytes(), &qr); err != nil {
		t.Fatal(err)
	}
	wantQ := `sum(rate(gatescale_http_requests_total{namespace="gatescale",pod="` + pod + `"}[10s])) by (pod)`
	if qr.Plan.PromQL != wantQ || len(qr.Items) != 1 {
		t.Errorf("query: %+v", qr)
	} else {
		within("query subcommand", qr.Items[0].Float)
	}
	out.Reset()
	err = run(ctx, []string{"query", "--prometheus-url", p.URL, "-n", ns, "pods/" + pod, "gatescale_request_rate"}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(out.String(), "error (HTTP 404):") || !strings.Contains(out.String(), "metric gatescale_request_rate is not served for pods") {
		t.Errorf("query for an unknown metric: %v\n%s", err, out.String())
	}
	t.Logf("query output for an unknown metric:\n%s", out.String())
}
