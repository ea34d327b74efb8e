package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/adapter/provider"
)

const serverConfig = `
rules:
- seriesQuery: '{__name__=~"^app_.*",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="app_queue_depth",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
resourceRules:
  cpu:
    containerQuery: sum by (<<.GroupBy>>) (test_container_cpu{<<.LabelMatchers>>})
    nodeQuery: sum by (<<.GroupBy>>) (test_node_cpu{<<.LabelMatchers>>})
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
  memory:
    containerQuery: sum by (<<.GroupBy>>) (test_container_memory{<<.LabelMatchers>>})
    nodeQuery: sum by (<<.GroupBy>>) (test_node_memory{<<.LabelMatchers>>})
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
  window: 1m
`

// startAdapter runs Prometheus with two running pods (web-1, web-2), a
// finished one (batch-1) and a node, and the adapter in-process on a free
// port, without a kube-apiserver.
func startAdapter(t *testing.T, mutate func(*Options)) (*rest.Config, *promtest.Server) {
	t.Helper()
	p := promtest.Start(t, promtest.Options{})
	pod := func(queue float64, cpu float64) string {
		return promtest.ServeMetrics(t, func(w io.Writer) {
			fmt.Fprintf(w, "app_queue_depth{queue=\"orders\"} %g\ntest_container_cpu{container=\"app\"} %g\ntest_container_memory{container=\"app\"} 1048576\n", queue, cpu)
		})
	}
	// A finished Job's pod: its series stay in Prometheus for a while,
	// but metrics.k8s.io reports Running pods only.
	done := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprint(w, "test_container_cpu{container=\"main\"} 0.5\ntest_container_memory{container=\"main\"} 4096\n")
	})
	node := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprint(w, "test_node_cpu 1.5\ntest_node_memory 2147483648\n")
	})
	p.SetTargets(t,
		promtest.Target{Addr: pod(45.5, 0.25), Labels: map[string]string{"namespace": "shop", "pod": "web-1"}},
		promtest.Target{Addr: pod(10, 0.125), Labels: map[string]string{"namespace": "shop", "pod": "web-2"}},
		promtest.Target{Addr: done, Labels: map[string]string{"namespace": "shop", "pod": "batch-1"}},
		promtest.Target{Addr: node, Labels: map[string]string{"node": "node-1"}},
	)
	p.WaitFor(t, `app_queue_depth or test_container_cpu or test_node_cpu`, 6, 30*time.Second)

	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("server.yaml", []byte(serverConfig))
	if err != nil {
		t.Fatal(err)
	}
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{})
	running := map[string]string{"status.phase": "Running"}
	objs := kube.NewStatic(
		kube.Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}, Fields: running},
		kube.Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: "shop", Name: "web-2", Labels: map[string]string{"app": "web"}, Fields: running},
		kube.Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: "shop", Name: "batch-1", Labels: map[string]string{"app": "batch"}, Fields: map[string]string{"status.phase": "Succeeded"}},
	)
	prov, err := provider.New(cfg, provider.Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper(), Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	discDone := make(chan struct{})
	go func() { disc.Run(ctx); close(discDone) }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	o.SecureServing.Listener = ln
	o.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.AllowAnonymous = true
	o.Resource = true
	if mutate != nil {
		mutate(o)
	}
	srv, err := New(o, Providers{Custom: prov, External: prov, Resource: prov})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-runDone:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not stop")
		}
		<-discDone
	})
	rc := &rest.Config{Host: "https://" + srv.Addr.String(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	waitHealthy(t, rc.Host)
	return rc, p
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("adapter at %s not ready", base)
}

// The HPA's clients, over HTTPS, get the values Prometheus holds.
func TestServeOverHTTPSToTypedClients(t *testing.T) {
	rc, _ := startAdapter(t, nil)
	dc := discovery.NewDiscoveryClientForConfigOrDie(rc)
	cm := customclient.NewForConfig(rc, kube.StaticMapper(), customclient.NewAvailableAPIsGetter(dc))
	pods := schema.GroupKind{Kind: "Pod"}

	v, err := cm.NamespacedMetrics("shop").GetForObject(pods, "web-1", "app_queue_depth", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if v.Value.String() != "45500m" || v.DescribedObject.Name != "web-1" || v.DescribedObject.Kind != "Pod" {
		t.Errorf("by name: %+v", v)
	}
	list, err := cm.NamespacedMetrics("shop").GetForObjects(pods, labels.SelectorFromSet(labels.Set{"app": "web"}), "app_queue_depth", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range list.Items {
		got = append(got, it.DescribedObject.Name+"="+it.Value.String())
	}
	if strings.Join(got, " ") != "web-1=45500m web-2=10" {
		t.Errorf("by selector: %v", got)
	}
	ns, err := cm.RootScopedMetrics().GetForObject(schema.GroupKind{Kind: "Namespace"}, "shop", "app_queue_depth", labels.Everything())
	if err != nil || ns.Value.String() != "55500m" {
		t.Errorf("namespace: %v %v", ns, err)
	}

	// v1beta1 answers too.
	old, err := customclient.NewForVersionForConfig(rc, kube.StaticMapper(), cmv1beta1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	v, err = old.NamespacedMetrics("shop").GetForObject(pods, "web-2", "app_queue_depth", labels.Everything())
	if err != nil || v.Value.String() != "10" {
		t.Errorf("v1beta1: %v %v", v, err)
	}

	// A precise 404.
	_, err = cm.NamespacedMetrics("shop").GetForObject(pods, "web-1", "app_nope", labels.Everything())
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.Status().Code != 404 || !strings.Contains(se.Status().Message, "metric app_nope is not served for pods") {
		t.Errorf("unknown metric: %v", err)
	}

	em, err := externalclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := em.NamespacedMetrics("shop").List("app_queue_depth", labels.SelectorFromSet(labels.Set{"queue": "orders"}))
	if err != nil || len(ext.Items) != 1 || ext.Items[0].Value.String() != "55500m" || ext.Items[0].MetricLabels["queue"] != "orders" {
		t.Errorf("external: %v %v", ext, err)
	}

	// API discovery lists the metrics, from memory.
	res, err := dc.ServerResourcesForGroupVersion("custom.metrics.k8s.io/v1beta2")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res.APIResources {
		names = append(names, r.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "pods/app_queue_depth") {
		t.Errorf("discovery: %v", names)
	}

	// metrics.k8s.io, as kubectl top and the HPA's resource metrics read it.
	mc, err := metricsclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mc.MetricsV1beta1().PodMetricses("shop").Get(context.Background(), "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.Containers) != 1 || pm.Containers[0].Name != "app" || pm.Containers[0].Usage.Cpu().String() != "250m" || pm.Containers[0].Usage.Memory().String() != "1Mi" || pm.Window.Duration != time.Minute {
		t.Errorf("pod metrics: %+v", pm)
	}
	pml, err := mc.MetricsV1beta1().PodMetricses("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pml.Items) != 2 || pml.Items[1].Containers[0].Usage.Cpu().String() != "125m" {
		t.Errorf("pod metrics list: %+v %v", pml, err)
	}
	nm, err := mc.MetricsV1beta1().NodeMetricses().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nm.Items) != 1 || nm.Items[0].Name != "node-1" || nm.Items[0].Usage.Cpu().String() != "1500m" || nm.Items[0].Usage.Memory().String() != "2Gi" {
		t.Errorf("node metrics: %+v %v", nm, err)
	}
	_, err = mc.MetricsV1beta1().PodMetricses("shop").Get(context.Background(), "web-9", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v", err)
	}
}

// Each API can be switched off, for clusters where KEDA or metrics-server
// already serves it.
func TestAPIsCanBeSwitchedOff(t *testing.T) {
	rc, _ := startAdapter(t, func(o *Options) { o.External, o.Resource = false, false })
	dc := discovery.NewDiscoveryClientForConfigOrDie(rc)
	groups, err := dc.ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	if strings.Join(names, " ") != "custom.metrics.k8s.io" {
		t.Errorf("groups: %v", names)
	}
}

// Prometheus being down is a 503 that says so.
func TestPrometheusDownIs503(t *testing.T) {
	rc, p := startAdapter(t, func(o *Options) { o.Resource = false })
	p.Stop()
	em, err := externalclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = em.NamespacedMetrics("shop").List("app_queue_depth", labels.Everything())
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.Status().Code != 503 || !strings.Contains(se.Status().Message, "is unavailable") {
		t.Errorf("error: %v", err)
	}
}
