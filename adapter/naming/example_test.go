package naming_test

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/naming"
)

var walkthrough = []byte(`
rules:
- seriesQuery: 'http_requests_total{kubernetes_namespace!="",kubernetes_pod_name!=""}'
  resources:
    overrides:
      kubernetes_namespace: {resource: "namespace"}
      kubernetes_pod_name: {resource: "pod"}
  name:
    matches: "^(.*)_total"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '{__name__="queue_depth",name!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
`)

// Compile a configuration, then name a series and query two pods.
func ExampleCompile() {
	cfg, _ := config.Parse("adapter.yaml", walkthrough)
	rules, _, err := naming.Compile(cfg, kube.StaticMapper())
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rules[0]
	fmt.Println(r.MetricName("http_requests_total"))
	q, label, _ := r.Query(naming.ObjectQuery{
		Series: "http_requests_total", Resource: naming.Pods, Namespace: "production",
		Names: []string{"frontend-1", "frontend-2"},
	})
	fmt.Println(q)
	fmt.Println(label)
	// Output:
	// http_requests_per_second
	// sum(rate(http_requests_total{kubernetes_namespace="production",kubernetes_pod_name=~"frontend-1|frontend-2"}[2m])) by (kubernetes_pod_name)
	// kubernetes_pod_name
}

// An external rule scopes its query to the HPA's namespace and adds the
// metric selector's matchers.
func ExampleRule_ExternalQuery() {
	cfg, _ := config.Parse("adapter.yaml", walkthrough)
	_, external, _ := naming.Compile(cfg, kube.StaticMapper())
	q, _ := external[0].ExternalQuery("queue_depth", "shop", labels.SelectorFromSet(labels.Set{"name": "orders"}))
	fmt.Println(q)
	// Output: sum(queue_depth{name="orders",namespace="shop"}) by (name)
}

// One rule compiled on its own, with a template mapping labels to
// resources.
func ExampleCompileRule() {
	r, err := naming.CompileRule(config.DiscoveryRule{
		SeriesQuery:  `{__name__=~"^kube_.*",kube_namespace!=""}`,
		Resources:    config.ResourceMapping{Template: "kube_<<.Resource>>"},
		MetricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
	}, "rules[0]", false, kube.StaticMapper(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	grs, namespaced := r.Resources.ForLabels([]string{"kube_namespace", "kube_deployment", "kube_shoe"})
	fmt.Println(grs, namespaced)
	// Output: [namespaces deployments.apps] true
}

// Resources maps labels to resources both ways.
func ExampleNewResources() {
	res, _ := naming.NewResources(config.ResourceMapping{
		Overrides: map[string]config.GroupResource{"microservice": {Group: "apps", Resource: "deployment"}},
	}, kube.StaticMapper(), nil, "rules[0].resources")
	gr, _ := res.ForLabel("microservice")
	label, _ := res.LabelFor(gr)
	fmt.Println(gr, label)
	// Output: deployments.apps microservice
}

// Normalize spells a resource as the cluster does.
func ExampleNormalize() {
	gr, _ := naming.Normalize(kube.StaticMapper(), naming.Pods)
	fmt.Println(gr)
	// Output: pods
}

// Window is the rate window reported to the HPA.
func ExampleWindow() {
	fmt.Println(naming.Window(`sum(rate(http_requests_total{pod="a"}[2m])) by (pod)`) == 2*time.Minute)
	// Output: true
}
