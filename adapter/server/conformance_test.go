package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	hpametrics "k8s.io/kubernetes/pkg/controller/podautoscaler/metrics"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/kube"
)

// getRaw GETs path from the adapter and returns the status code, the
// Content-Type and the body, as a client that does not use Go types sees
// them.
func getRaw(t *testing.T, rc *rest.Config, path string) (int, string, []byte) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
	req, err := http.NewRequest(http.MethodGet, rc.Host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// checkShape checks a 200 answer against the Kubernetes API conventions:
// kind and apiVersion set, metadata present and without selfLink (no
// longer populated since Kubernetes 1.20), and for a list an "items"
// array (never null) of wantItems entries, each with its own metadata
// free of selfLink. It returns the decoded document.
func checkShape(t *testing.T, what string, body []byte, kind, apiVersion string, wantItems int) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, body)
	}
	if doc["kind"] != kind || doc["apiVersion"] != apiVersion {
		t.Errorf("%s: kind %v, apiVersion %v; want %s, %s", what, doc["kind"], doc["apiVersion"], kind, apiVersion)
	}
	md, ok := doc["metadata"].(map[string]any)
	if !ok {
		t.Errorf("%s: no metadata object: %s", what, body)
	} else if _, ok := md["selfLink"]; ok {
		t.Errorf("%s: metadata has selfLink: %v", what, md)
	}
	if wantItems < 0 {
		if _, ok := doc["items"]; ok {
			t.Errorf("%s: an object with items: %s", what, body)
		}
		return doc
	}
	raw, ok := doc["items"]
	items, isArray := raw.([]any)
	switch {
	case !ok:
		t.Errorf("%s: no items member: %s", what, body)
	case !isArray:
		t.Errorf("%s: items is %v, not an array: %s", what, raw, body)
	case len(items) != wantItems:
		t.Errorf("%s: %d items, want %d: %s", what, len(items), wantItems, body)
	}
	if wantItems == 0 && !bytes.Contains(body, []byte(`"items":[]`)) {
		t.Errorf("%s: an empty list is not sent as \"items\":[]: %s", what, body)
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if imd, ok := m["metadata"].(map[string]any); ok {
			if _, ok := imd["selfLink"]; ok {
				t.Errorf("%s: item metadata has selfLink: %v", what, imd)
			}
		}
	}
	return doc
}

// checkStatus checks an error answer: a metav1.Status (kind Status,
// apiVersion v1, status Failure) with the HTTP code repeated in code, the
// reason, and a message; every field is one metav1.Status knows.
func checkStatus(t *testing.T, what string, code int, body []byte, wantCode int32, wantReason metav1.StatusReason) metav1.Status {
	t.Helper()
	var st metav1.Status
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Errorf("%s: not a metav1.Status: %v\n%s", what, err, body)
		return st
	}
	if code != int(wantCode) || st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || st.Code != wantCode || st.Reason != wantReason || st.Message == "" {
		t.Errorf("%s: HTTP %d, %+v; want %d %s", what, code, st, wantCode, wantReason)
	}
	return st
}

// The conformance test: every kind of answer the adapter gives — custom
// metrics v1beta1 and v1beta2, external metrics, resource metrics v1beta1
// and v1, for one object and as lists, empty lists, and errors — is
// checked byte-level against the API conventions, decoded by the official
// typed clients of k8s.io/metrics, and read through the HPA controller's
// own metrics client (k8s.io/kubernetes/pkg/controller/podautoscaler/metrics),
// whose code paths are what a real HPA runs.
func TestConformance(t *testing.T) {
	rc, p := startAdapter(t, nil)
	const (
		cm2 = "/apis/custom.metrics.k8s.io/v1beta2"
		cm1 = "/apis/custom.metrics.k8s.io/v1beta1"
		em  = "/apis/external.metrics.k8s.io/v1beta1"
		rm1 = "/apis/metrics.k8s.io/v1beta1"
		rm  = "/apis/metrics.k8s.io/v1"
	)
	sel := func(s string) string { return "?labelSelector=" + url.QueryEscape(s) }

	t.Run("answers", func(t *testing.T) {
		for _, c := range []struct {
			name, path, kind, apiVersion string
			items                        int // -1: a single object
		}{
			{"custom v1beta2 one object", cm2 + "/namespaces/shop/pods/web-1/app_queue_depth", "MetricValueList", "custom.metrics.k8s.io/v1beta2", 1},
			{"custom v1beta2 by selector", cm2 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app=web"), "MetricValueList", "custom.metrics.k8s.io/v1beta2", 2},
			{"custom v1beta2 selector matching nothing", cm2 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app=none"), "MetricValueList", "custom.metrics.k8s.io/v1beta2", 0},
			{"custom v1beta2 namespace", cm2 + "/namespaces/shop/metrics/app_queue_depth", "MetricValueList", "custom.metrics.k8s.io/v1beta2", 1},
			{"custom v1beta1 one object", cm1 + "/namespaces/shop/pods/web-1/app_queue_depth", "MetricValueList", "custom.metrics.k8s.io/v1beta1", 1},
			{"custom v1beta1 by selector", cm1 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app=web"), "MetricValueList", "custom.metrics.k8s.io/v1beta1", 2},
			{"custom v1beta1 selector matching nothing", cm1 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app=none"), "MetricValueList", "custom.metrics.k8s.io/v1beta1", 0},
			{"external", em + "/namespaces/shop/app_queue_depth", "ExternalMetricValueList", "external.metrics.k8s.io/v1beta1", 1},
			{"external with metric selector", em + "/namespaces/shop/app_queue_depth" + sel("queue=orders"), "ExternalMetricValueList", "external.metrics.k8s.io/v1beta1", 1},
			{"pod v1beta1", rm1 + "/namespaces/shop/pods/web-1", "PodMetrics", "metrics.k8s.io/v1beta1", -1},
			{"pods v1beta1 (Running only)", rm1 + "/namespaces/shop/pods", "PodMetricsList", "metrics.k8s.io/v1beta1", 2},
			{"pods v1beta1 all namespaces", rm1 + "/pods", "PodMetricsList", "metrics.k8s.io/v1beta1", 2},
			{"pods v1beta1 by selector", rm1 + "/namespaces/shop/pods" + sel("app=web"), "PodMetricsList", "metrics.k8s.io/v1beta1", 2},
			{"pods v1beta1 selector matching nothing", rm1 + "/namespaces/shop/pods" + sel("app=none"), "PodMetricsList", "metrics.k8s.io/v1beta1", 0},
			{"pods v1beta1 in an empty namespace", rm1 + "/namespaces/empty/pods", "PodMetricsList", "metrics.k8s.io/v1beta1", 0},
			{"node v1beta1", rm1 + "/nodes/node-1", "NodeMetrics", "metrics.k8s.io/v1beta1", -1},
			{"nodes v1beta1", rm1 + "/nodes", "NodeMetricsList", "metrics.k8s.io/v1beta1", 1},
			{"nodes v1beta1 selector matching nothing", rm1 + "/nodes" + sel("role=none"), "NodeMetricsList", "metrics.k8s.io/v1beta1", 0},
			{"pod v1", rm + "/namespaces/shop/pods/web-2", "PodMetrics", "metrics.k8s.io/v1", -1},
			{"pods v1", rm + "/namespaces/shop/pods", "PodMetricsList", "metrics.k8s.io/v1", 2},
			{"pods v1 selector matching nothing", rm + "/namespaces/shop/pods" + sel("app=none"), "PodMetricsList", "metrics.k8s.io/v1", 0},
			{"node v1", rm + "/nodes/node-1", "NodeMetrics", "metrics.k8s.io/v1", -1},
			{"nodes v1", rm + "/nodes", "NodeMetricsList", "metrics.k8s.io/v1", 1},
			{"nodes v1 selector matching nothing", rm + "/nodes" + sel("role=none"), "NodeMetricsList", "metrics.k8s.io/v1", 0},
		} {
			code, ctype, body := getRaw(t, rc, c.path)
			if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("%s: HTTP %d %s: %s", c.name, code, ctype, body)
				continue
			}
			doc := checkShape(t, c.name, body, c.kind, c.apiVersion, c.items)
			if c.items > 0 && strings.Contains(c.kind, "MetricValueList") {
				// Items of the metrics APIs carry what the HPA reads.
				for _, it := range doc["items"].([]any) {
					m := it.(map[string]any)
					if m["timestamp"] == nil || m["value"] == nil {
						t.Errorf("%s: item without timestamp or value: %v", c.name, m)
					}
					if c.kind == "MetricValueList" {
						d, _ := m["describedObject"].(map[string]any)
						if d["kind"] == nil || d["apiVersion"] == nil || d["name"] == nil {
							t.Errorf("%s: describedObject %v", c.name, d)
						}
					}
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			name, path string
			code       int32
			reason     metav1.StatusReason
		}{
			{"unknown custom metric v1beta2", cm2 + "/namespaces/shop/pods/web-1/app_nope", 404, metav1.StatusReasonNotFound},
			{"unknown custom metric v1beta1", cm1 + "/namespaces/shop/pods/*/app_nope", 404, metav1.StatusReasonNotFound},
			{"custom metric of an object without series", cm2 + "/namespaces/shop/pods/web-9/app_queue_depth", 404, metav1.StatusReasonNotFound},
			{"unknown external metric", em + "/namespaces/shop/app_nope", 404, metav1.StatusReasonNotFound},
			{"unknown pod", rm1 + "/namespaces/shop/pods/web-9", 404, metav1.StatusReasonNotFound},
			{"pod that is not Running", rm1 + "/namespaces/shop/pods/batch-1", 404, metav1.StatusReasonNotFound},
			{"unknown node v1", rm + "/nodes/node-9", 404, metav1.StatusReasonNotFound},
			{"bad label selector, custom", cm2 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app in ("), 400, metav1.StatusReasonBadRequest},
			{"bad metric selector, custom", cm2 + "/namespaces/shop/pods/*/app_queue_depth?metricLabelSelector=" + url.QueryEscape("queue in ("), 400, metav1.StatusReasonBadRequest},
			{"bad metric selector, custom v1beta1", cm1 + "/namespaces/shop/pods/web-1/app_queue_depth?metricLabelSelector=" + url.QueryEscape("queue in ("), 400, metav1.StatusReasonBadRequest},
			{"bad metric selector, external", em + "/namespaces/shop/app_queue_depth" + sel("queue in ("), 400, metav1.StatusReasonBadRequest},
			{"metric selector without PromQL equivalent", em + "/namespaces/shop/app_queue_depth" + sel("queue>3"), 400, metav1.StatusReasonBadRequest},
			{"metric selector without PromQL equivalent, custom", cm2 + "/namespaces/shop/pods/web-1/app_queue_depth?metricLabelSelector=" + url.QueryEscape("queue>3"), 400, metav1.StatusReasonBadRequest},
			{"metric selector without PromQL equivalent, custom by selector", cm1 + "/namespaces/shop/pods/*/app_queue_depth?metricLabelSelector=" + url.QueryEscape("queue<3") + "&labelSelector=app%3Dweb", 400, metav1.StatusReasonBadRequest},
			{"bad label selector, pods", rm1 + "/namespaces/shop/pods" + sel("app in ("), 400, metav1.StatusReasonBadRequest},
			// Kubernetes label keys may hold '.', '/' and '-', which no
			// Prometheus label name can: the request is at fault.
			{"metric selector key not a Prometheus label, external", em + "/namespaces/shop/app_queue_depth" + sel("app.kubernetes.io/name=web"), 400, metav1.StatusReasonBadRequest},
			{"metric selector key not a Prometheus label, custom", cm2 + "/namespaces/shop/pods/web-1/app_queue_depth?metricLabelSelector=" + url.QueryEscape("app.kubernetes.io/name=web"), 400, metav1.StatusReasonBadRequest},
			{"metric selector key not a Prometheus label, custom exists", cm1 + "/namespaces/shop/pods/*/app_queue_depth?metricLabelSelector=" + url.QueryEscape("!app.kubernetes.io/name") + "&labelSelector=app%3Dweb", 400, metav1.StatusReasonBadRequest},
		} {
			code, _, body := getRaw(t, rc, c.path)
			checkStatus(t, c.name, code, body, c.code, c.reason)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		for _, gv := range []string{cm2, cm1, em, rm1, rm} {
			code, _, body := getRaw(t, rc, gv)
			if code != 200 {
				t.Errorf("%s: HTTP %d", gv, code)
				continue
			}
			var l metav1.APIResourceList
			if err := json.Unmarshal(body, &l); err != nil || l.Kind != "APIResourceList" || len(l.APIResources) == 0 {
				t.Errorf("%s: %v %s", gv, err, body)
			}
		}
	})

	dc := discovery.NewDiscoveryClientForConfigOrDie(rc)
	cm := customclient.NewForConfig(rc, kube.StaticMapper(), customclient.NewAvailableAPIsGetter(dc))
	cmOld, err := customclient.NewForVersionForConfig(rc, kube.StaticMapper(), cmv1beta1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	emc, err := externalclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := metricsclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	podGK := schema.GroupKind{Kind: "Pod"}
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	none := labels.SelectorFromSet(labels.Set{"app": "none"})

	t.Run("typed clients", func(t *testing.T) {
		for name, c := range map[string]customclient.CustomMetricsClient{"preferred (v1beta2)": cm, "v1beta1": cmOld} {
			v, err := c.NamespacedMetrics("shop").GetForObject(podGK, "web-1", "app_queue_depth", labels.Everything())
			if err != nil || v.Value.String() != "45500m" || v.DescribedObject.Kind != "Pod" || v.DescribedObject.APIVersion != "v1" {
				t.Errorf("%s: one object: %+v %v", name, v, err)
			}
			l, err := c.NamespacedMetrics("shop").GetForObjects(podGK, web, "app_queue_depth", labels.Everything())
			if err != nil || len(l.Items) != 2 {
				t.Errorf("%s: by selector: %+v %v", name, l, err)
			}
			l, err = c.NamespacedMetrics("shop").GetForObjects(podGK, none, "app_queue_depth", labels.Everything())
			if err != nil || len(l.Items) != 0 {
				t.Errorf("%s: empty: %+v %v", name, l, err)
			}
			ns, err := c.RootScopedMetrics().GetForObject(schema.GroupKind{Kind: "Namespace"}, "shop", "app_queue_depth", labels.Everything())
			if err != nil || ns.Value.String() != "55500m" {
				t.Errorf("%s: namespace: %+v %v", name, ns, err)
			}
			_, err = c.NamespacedMetrics("shop").GetForObject(podGK, "web-1", "app_nope", labels.Everything())
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s: unknown metric: %v", name, err)
			}
		}
		ext, err := emc.NamespacedMetrics("shop").List("app_queue_depth", labels.Everything())
		if err != nil || len(ext.Items) != 1 || ext.Items[0].MetricLabels["queue"] != "orders" {
			t.Errorf("external: %+v %v", ext, err)
		}
		gt, _ := labels.Parse("queue>3")
		if _, err := emc.NamespacedMetrics("shop").List("app_queue_depth", gt); !apierrors.IsBadRequest(err) {
			t.Errorf("external with >: %v", err)
		}
		if _, err := emc.NamespacedMetrics("shop").List("app_nope", labels.Everything()); !apierrors.IsNotFound(err) {
			t.Errorf("unknown external: %v", err)
		}

		v1b := mc.MetricsV1beta1()
		pm, err := v1b.PodMetricses("shop").Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil || pm.Name != "web-1" || len(pm.Containers) != 1 {
			t.Errorf("v1beta1 pod: %+v %v", pm, err)
		}
		pl, err := v1b.PodMetricses("shop").List(ctx, metav1.ListOptions{})
		if err != nil || len(pl.Items) != 2 || pl.Items[0].Name != "web-1" || pl.Items[1].Name != "web-2" {
			t.Errorf("v1beta1 pods (Running only): %+v %v", pl, err)
		}
		pl, err = v1b.PodMetricses("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=none"})
		if err != nil || len(pl.Items) != 0 {
			t.Errorf("v1beta1 pods, empty: %+v %v", pl, err)
		}
		if _, err := v1b.PodMetricses("shop").Get(ctx, "batch-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a pod that is not Running: %v", err)
		}
		nl, err := v1b.NodeMetricses().List(ctx, metav1.ListOptions{})
		if err != nil || len(nl.Items) != 1 || nl.Items[0].Usage.Cpu().String() != "1500m" {
			t.Errorf("v1beta1 nodes: %+v %v", nl, err)
		}
		v1 := mc.MetricsV1()
		pm1, err := v1.PodMetricses("shop").Get(ctx, "web-2", metav1.GetOptions{})
		if err != nil || pm1.Name != "web-2" || pm1.Containers[0].Usage.Cpu().String() != "125m" {
			t.Errorf("v1 pod: %+v %v", pm1, err)
		}
		pl1, err := v1.PodMetricses("").List(ctx, metav1.ListOptions{})
		if err != nil || len(pl1.Items) != 2 {
			t.Errorf("v1 pods, all namespaces: %+v %v", pl1, err)
		}
		nm1, err := v1.NodeMetricses().Get(ctx, "node-1", metav1.GetOptions{})
		if err != nil || nm1.Usage.Memory().String() != "2Gi" {
			t.Errorf("v1 node: %+v %v", nm1, err)
		}
		if _, err := v1.NodeMetricses().Get(ctx, "node-9", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("v1 unknown node: %v", err)
		}
	})

	// kubectl top --field-selector and informers list with a field
	// selector on the object's name or namespace; metrics-server (and so
	// prometheus-adapter, which serves its storage) filters by it.
	t.Run("field selectors", func(t *testing.T) {
		v1b := mc.MetricsV1beta1()
		pl, err := v1b.PodMetricses("shop").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web-2"})
		if err != nil || len(pl.Items) != 1 || pl.Items[0].Name != "web-2" {
			t.Errorf("pods by name: %+v %v", pl, err)
		}
		pl, err = v1b.PodMetricses("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.namespace!=shop"})
		if err != nil || len(pl.Items) != 0 {
			t.Errorf("pods of every namespace but shop: %+v %v", pl, err)
		}
		pl, err = v1b.PodMetricses("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web", FieldSelector: "metadata.name!=web-1"})
		if err != nil || len(pl.Items) != 1 || pl.Items[0].Name != "web-2" {
			t.Errorf("pods by label and not by name: %+v %v", pl, err)
		}
		nl, err := mc.MetricsV1().NodeMetricses().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=node-9"})
		if err != nil || len(nl.Items) != 0 {
			t.Errorf("nodes by an unknown name: %+v %v", nl, err)
		}
		nl, err = mc.MetricsV1().NodeMetricses().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=node-1"})
		if err != nil || len(nl.Items) != 1 || nl.Items[0].Name != "node-1" {
			t.Errorf("nodes by name: %+v %v", nl, err)
		}
	})

	// The HPA controller's own client: what it computes from our answers
	// is what the HPA would act on.
	hpa := hpametrics.NewRESTMetricsClient(mc.MetricsV1beta1(), cm, emc)
	t.Run("HPA controller client", func(t *testing.T) {
		cpu, _, err := hpa.GetResourceMetric(ctx, corev1.ResourceCPU, "shop", web, "")
		if err != nil || len(cpu) != 2 || cpu["web-1"].Value != 250 || cpu["web-2"].Value != 125 || cpu["web-1"].Window != time.Minute {
			t.Errorf("resource cpu: %+v %v", cpu, err)
		}
		mem, _, err := hpa.GetResourceMetric(ctx, corev1.ResourceMemory, "shop", web, "app")
		if err != nil || mem["web-1"].Value != 1048576*1000 {
			t.Errorf("resource memory of container app: %+v %v", mem, err)
		}
		// batch-1 has series but is not Running, so the HPA never sees it.
		all, _, err := hpa.GetResourceMetric(ctx, corev1.ResourceCPU, "shop", labels.Everything(), "")
		if _, ok := all["batch-1"]; err != nil || ok || len(all) != 2 {
			t.Errorf("resource cpu of every pod: %+v %v", all, err)
		}
		raw, _, err := hpa.GetRawMetric("app_queue_depth", "shop", web, labels.Everything())
		if err != nil || raw["web-1"].Value != 45500 || raw["web-2"].Value != 10000 {
			t.Errorf("pods metric: %+v %v", raw, err)
		}
		obj, _, err := hpa.GetObjectMetric("app_queue_depth", "shop", &autoscalingv2.CrossVersionObjectReference{Kind: "Pod", Name: "web-2", APIVersion: "v1"}, labels.Everything())
		if err != nil || obj != 10000 {
			t.Errorf("object metric: %v %v", obj, err)
		}
		nsv, _, err := hpa.GetObjectMetric("app_queue_depth", "shop", &autoscalingv2.CrossVersionObjectReference{Kind: "Namespace", Name: "shop", APIVersion: "v1"}, labels.Everything())
		if err != nil || nsv != 55500 {
			t.Errorf("namespace object metric: %v %v", nsv, err)
		}
		ext, _, err := hpa.GetExternalMetric("app_queue_depth", "shop", labels.SelectorFromSet(labels.Set{"queue": "orders"}))
		if err != nil || len(ext) != 1 || ext[0] != 55500 {
			t.Errorf("external metric: %v %v", ext, err)
		}
		// Errors reach the controller as API statuses it can log.
		_, _, err = hpa.GetRawMetric("app_nope", "shop", web, labels.Everything())
		var se *apierrors.StatusError
		if !errors.As(err, &se) || se.Status().Reason != metav1.StatusReasonNotFound {
			t.Errorf("unknown pods metric: %v", err)
		}
		if _, _, err := hpa.GetRawMetric("app_queue_depth", "shop", none, labels.Everything()); err == nil || !strings.Contains(err.Error(), "no metrics returned") {
			t.Errorf("pods metric of no pods: %v", err)
		}
	})

	// Last: Prometheus down is a 503 ServiceUnavailable on every API.
	p.Stop()
	t.Run("Prometheus down", func(t *testing.T) {
		for _, path := range []string{
			cm2 + "/namespaces/shop/pods/web-1/app_queue_depth",
			cm1 + "/namespaces/shop/pods/*/app_queue_depth" + sel("app=web"),
			em + "/namespaces/shop/app_queue_depth",
			rm1 + "/namespaces/shop/pods",
			rm + "/nodes/node-1",
		} {
			code, _, body := getRaw(t, rc, path)
			st := checkStatus(t, path, code, body, 503, metav1.StatusReasonServiceUnavailable)
			if !strings.Contains(st.Message, "connection refused") {
				t.Errorf("%s: message does not say why: %q", path, st.Message)
			}
		}
		if _, _, err := hpa.GetExternalMetric("app_queue_depth", "shop", labels.Everything()); !apierrors.IsServiceUnavailable(err) {
			t.Errorf("HPA client, external: %v", err)
		}
		if _, err := cm.NamespacedMetrics("shop").GetForObject(podGK, "web-1", "app_queue_depth", labels.Everything()); !apierrors.IsServiceUnavailable(err) {
			t.Errorf("typed client, custom: %v", err)
		}
	})
}

// nilLists is a provider of each API that returns lists with nil items,
// as any provider might.
type nilLists struct{}

func (nilLists) GetMetricByName(context.Context, types.NamespacedName, cmprovider.CustomMetricInfo, labels.Selector) (*custom_metrics.MetricValue, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x")
}
func (nilLists) GetMetricBySelector(context.Context, string, labels.Selector, cmprovider.CustomMetricInfo, labels.Selector) (*custom_metrics.MetricValueList, error) {
	return &custom_metrics.MetricValueList{}, nil
}
func (nilLists) ListAllMetrics() []cmprovider.CustomMetricInfo { return nil }
func (nilLists) GetExternalMetric(context.Context, string, labels.Selector, cmprovider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	return nil, nil
}
func (nilLists) ListAllExternalMetrics() []cmprovider.ExternalMetricInfo { return nil }
func (nilLists) PodMetrics(context.Context, string, labels.Selector, []string) ([]metrics.PodMetrics, error) {
	return nil, nil
}
func (nilLists) NodeMetrics(context.Context, labels.Selector, []string) ([]metrics.NodeMetrics, error) {
	return nil, nil
}

// Empty lists are "items": [] on every API and version, whatever the
// provider returns, and so are empty discovery lists.
func TestEmptyListsAreArrays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	o.SecureServing.Listener = ln
	o.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.AllowAnonymous = true
	o.Resource = true
	srv, err := New(o, Providers{Custom: nilLists{}, External: nilLists{}, Resource: nilLists{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	rc := &rest.Config{Host: "https://" + srv.Addr.String(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	waitHealthy(t, rc.Host)

	for _, c := range []struct{ path, kind, apiVersion string }{
		{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/m", "MetricValueList", "custom.metrics.k8s.io/v1beta2"},
		{"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/m", "MetricValueList", "custom.metrics.k8s.io/v1beta1"},
		{"/apis/custom.metrics.k8s.io/v1beta2/nodes/*/m", "MetricValueList", "custom.metrics.k8s.io/v1beta2"},
		{"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m", "ExternalMetricValueList", "external.metrics.k8s.io/v1beta1"},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods", "PodMetricsList", "metrics.k8s.io/v1beta1"},
		{"/apis/metrics.k8s.io/v1beta1/pods", "PodMetricsList", "metrics.k8s.io/v1beta1"},
		{"/apis/metrics.k8s.io/v1beta1/nodes", "NodeMetricsList", "metrics.k8s.io/v1beta1"},
		{"/apis/metrics.k8s.io/v1/namespaces/shop/pods", "PodMetricsList", "metrics.k8s.io/v1"},
		{"/apis/metrics.k8s.io/v1/nodes", "NodeMetricsList", "metrics.k8s.io/v1"},
	} {
		code, _, body := getRaw(t, rc, c.path)
		if code != 200 {
			t.Errorf("%s: HTTP %d: %s", c.path, code, body)
			continue
		}
		checkShape(t, c.path, body, c.kind, c.apiVersion, 0)
		if bytes.Contains(body, []byte("null")) {
			t.Errorf("%s: null in %s", c.path, body)
		}
	}
	// API discovery with no metrics: "resources": [].
	for _, gv := range []string{"/apis/custom.metrics.k8s.io/v1beta2", "/apis/custom.metrics.k8s.io/v1beta1", "/apis/external.metrics.k8s.io/v1beta1"} {
		code, _, body := getRaw(t, rc, gv)
		if code != 200 || !bytes.Contains(body, []byte(`"resources":[]`)) {
			t.Errorf("%s: HTTP %d: %s", gv, code, body)
		}
	}
	// The typed clients decode them. (Into Go, [] and null both become a
	// nil slice; the bytes above are what clients in other languages see.)
	mc, err := metricsclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := mc.MetricsV1beta1().PodMetricses("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pl.Items) != 0 {
		t.Errorf("pods: %#v %v", pl, err)
	}
}
