package naming

import (
	"errors"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
)

func compile(t *testing.T, file string) (rules, external []*Rule) {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rules, external, err = Compile(cfg, kube.StaticMapper())
	if err != nil {
		t.Fatal(err)
	}
	return rules, external
}

var (
	deployments = schema.GroupResource{Group: "apps", Resource: "deployments"}
	jobs        = schema.GroupResource{Group: "batch", Resource: "jobs"}
	services    = schema.GroupResource{Resource: "services"}
)

// The walkthrough's rule gives the names and query its documentation shows.
func TestWalkthroughRule(t *testing.T) {
	rules, external := compile(t, "../config/testdata/walkthrough.yaml")
	r := rules[0]
	if !r.Matches("http_requests_total") || r.Matches("http_requests") {
		t.Errorf("Matches")
	}
	if got := r.MetricName("http_requests_total"); got != "http_requests_per_second" {
		t.Errorf("MetricName: %q", got)
	}
	grs, namespaced := r.Resources.ForLabels([]string{"kubernetes_namespace", "kubernetes_pod_name", "method"})
	if len(grs) != 2 || grs[0] != Namespaces || grs[1] != Pods || !namespaced {
		t.Errorf("ForLabels: %v %v", grs, namespaced)
	}
	q, lbl, err := r.Query(ObjectQuery{Series: "http_requests_total", Resource: Pods, Namespace: "production", Names: []string{"pod2", "pod1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `sum(rate(http_requests_total{kubernetes_namespace="production",kubernetes_pod_name=~"pod1|pod2"}[2m])) by (kubernetes_pod_name)`
	if q != want || lbl != "kubernetes_pod_name" {
		t.Errorf("Query:\n got %s (%s)\nwant %s", q, lbl, want)
	}
	// The namespace itself, a root-scoped object.
	q, _, err = r.Query(ObjectQuery{Series: "http_requests_total", Resource: Namespaces, Names: []string{"production"}})
	if err != nil || q != `sum(rate(http_requests_total{kubernetes_namespace="production"}[2m])) by (kubernetes_namespace)` {
		t.Errorf("namespace query: %s %v", q, err)
	}

	// External rules: namespaced by default, across namespaces when told.
	q, err = external[0].ExternalQuery("queue_consumer_lag", "default", labels.SelectorFromSet(labels.Set{"name": "orders"}))
	if err != nil || q != `sum(queue_consumer_lag{name="orders",namespace="default"}) by (name)` {
		t.Errorf("external query: %s %v", q, err)
	}
	q, err = external[1].ExternalQuery("queue_depth", "default", labels.Everything())
	if err != nil || q != `sum(queue_depth{}) by (name)` {
		t.Errorf("non-namespaced external query: %s %v", q, err)
	}
	if external[0].MetricName("queue_consumer_lag") != "queue_consumer_lag" {
		t.Errorf("default name is the series name")
	}
}

// The Helm chart's default rules split series among themselves as
// prometheus-adapter does.
func TestHelmDefaultRules(t *testing.T) {
	rules, _ := compile(t, "../config/testdata/helm-default.yaml")
	names := func(series string) []string {
		// Rules 0-2 discover container_ series and 3-5 the others (their
		// seriesQuery says so); within each group the filters decide.
		group := rules[3:]
		if strings.HasPrefix(series, "container_") {
			group = rules[:3]
		}
		var out []string
		for _, r := range group {
			if r.Matches(series) {
				out = append(out, r.Path+"="+r.MetricName(series))
			}
		}
		return out
	}
	for series, want := range map[string]string{
		"container_cpu_usage_seconds_total":     "rules[0]=cpu_usage",
		"container_network_receive_bytes_total": "rules[1]=network_receive_bytes",
		"container_memory_working_set_bytes":    "rules[2]=memory_working_set_bytes",
		"http_requests_total":                   "rules[4]=http_requests",
		"process_cpu_seconds_total":             "rules[5]=process_cpu",
		"go_goroutines":                         "rules[3]=go_goroutines",
	} {
		got := strings.Join(names(series), " ")
		if got != want {
			t.Errorf("%s: got %q, want %q", series, got, want)
		}
	}
	// The template maps every label the cluster knows as a resource,
	// including ones that only look incidental (job → jobs.batch).
	grs, namespaced := rules[4].Resources.ForLabels([]string{"code", "job", "namespace", "pod", "service", "instance"})
	want := []schema.GroupResource{jobs, Namespaces, Pods, services}
	if len(grs) != len(want) || !namespaced {
		t.Fatalf("ForLabels: %v", grs)
	}
	for i := range want {
		if grs[i] != want[i] {
			t.Errorf("ForLabels[%d]: %v, want %v", i, grs[i], want[i])
		}
	}
	q, _, err := rules[4].Query(ObjectQuery{Series: "http_requests_total", Resource: services, Namespace: "shop", Names: []string{"front.end"}, MetricSelector: labels.SelectorFromSet(labels.Set{"code": "200"})})
	if err != nil || q != `sum(rate(http_requests_total{code="200",namespace="shop",service="front.end"}[5m])) by (service)` {
		t.Errorf("query: %s %v", q, err)
	}
}

func TestTemplateWithGroup(t *testing.T) {
	r, err := CompileRule(config.DiscoveryRule{
		SeriesQuery:  `{__name__="x"}`,
		Resources:    config.ResourceMapping{Template: "kube_<<.Group>>_<<.Resource>>", Overrides: map[string]config.GroupResource{"ns": {Resource: "namespace"}}},
		MetricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
	}, "rules[0]", false, kube.StaticMapper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if gr, ok := r.Resources.ForLabel("kube_apps_deployment"); !ok || gr != deployments {
		t.Errorf("ForLabel: %v %v", gr, ok)
	}
	if _, ok := r.Resources.ForLabel("kube_apps_frobnicator"); ok {
		t.Errorf("unknown resource matched")
	}
	if l, err := r.Resources.LabelFor(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}); err != nil || l != "kube_networking_k8s_io_ingress" {
		t.Errorf("LabelFor: %q %v", l, err)
	}
	q, _, err := r.Query(ObjectQuery{Series: "x", Resource: deployments, Namespace: "a", Names: []string{"web"}})
	if err != nil || q != `sum(x{ns="a",kube_apps_deployment="web"}) by (kube_apps_deployment)` {
		t.Errorf("query: %s %v", q, err)
	}
}

func TestMetricSelectorMatchers(t *testing.T) {
	r, err := CompileRule(config.DiscoveryRule{SeriesQuery: "x", MetricsQuery: "<<.LabelMatchers>>|<<.LabelValuesByName>>",
		LabelValueReplacements: []config.LabelValueReplacement{{Find: "_", Replace: "#"}}}, "externalRules[0]", true, kube.StaticMapper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{
		"a=b":            `a="b"|map[a:b namespace:ns]`,
		"a!=b":           `a!="b"|map[a:b namespace:ns]`,
		"a in (x,y)":     `a=~"x|y"|map[a:x|y namespace:ns]`,
		"a notin (x)":    `a!~"x"|map[a:x namespace:ns]`,
		"a":              `a!=""|map[a: namespace:ns]`,
		"!a":             `a=""|map[a: namespace:ns]`,
		`q in (a_b)`:     `q=~"a_b"|map[namespace:ns q:a#b]`,
		"a=b,c in (d,e)": `a="b",c=~"d|e"|map[a:b c:d|e namespace:ns]`,
	} {
		s, err := labels.Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.ExternalQuery("x", "ns", s)
		if err != nil {
			t.Errorf("%s: %v", sel, err)
			continue
		}
		if want = strings.Replace(want, "|map", `,namespace="ns"|map`, 1); got != want {
			t.Errorf("%s: got %s, want %s", sel, got, want)
		}
	}
	gt, _ := labels.Parse("a>3")
	if _, err := r.ExternalQuery("x", "ns", gt); err == nil || !strings.Contains(err.Error(), "no PromQL equivalent") || !errors.Is(err, ErrMetricSelector) {
		t.Errorf("a>3: %v", err)
	}
	for _, bad := range []string{"app.kubernetes.io/name=web", "my-label in (a,b)", "!example.com/tier"} {
		s, err := labels.Parse(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExternalQuery("x", "ns", s); !errors.Is(err, ErrMetricSelector) || !strings.Contains(err.Error(), "not a Prometheus label name") {
			t.Errorf("%s: got %v, want a selector error naming the key", bad, err)
		}
	}
	if _, err := r.ExternalQuery("x", "ns", labels.Nothing()); !errors.Is(err, ErrMetricSelector) {
		t.Errorf("a selector of nothing: %v", err)
	}
	noQuery, err := CompileRule(config.DiscoveryRule{SeriesQuery: "x"}, "externalRules[1]", true, kube.StaticMapper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noQuery.ExternalQuery("x", "ns", labels.Everything()); err == nil || errors.Is(err, ErrMetricSelector) {
		t.Errorf("a rule without metricsQuery is not the selector's fault: %v", err)
	}
}

func TestCompileErrorsHavePositions(t *testing.T) {
	cfg, err := config.Parse("a.yaml", []byte(`
rules:
- seriesQuery: '{__name__="x"}'
  resources:
    overrides:
      shard: {group: example.com, resource: shard}
  metricsQuery: 'x'
`))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Compile(cfg, kube.StaticMapper())
	if err == nil || !strings.HasPrefix(err.Error(), "a.yaml:6:14: rules[0].resources.overrides.shard: label \"shard\" maps to shard.example.com, which the cluster does not serve") {
		t.Errorf("error: %v", err)
	}
}

func TestQueryErrors(t *testing.T) {
	rules, _ := compile(t, "../config/testdata/walkthrough.yaml")
	if _, _, err := rules[0].Query(ObjectQuery{Series: "s", Resource: services, Namespace: "a", Names: []string{"x"}}); err == nil || !strings.Contains(err.Error(), "maps no label to services") {
		t.Errorf("unmapped resource: %v", err)
	}
	if _, _, err := rules[0].Query(ObjectQuery{Series: "s", Resource: Pods, Namespace: "a"}); err == nil {
		t.Errorf("no names: no error")
	}
	noQuery, err := CompileRule(config.DiscoveryRule{SeriesQuery: "x"}, "rules[7]", false, kube.StaticMapper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := noQuery.Query(ObjectQuery{Series: "x", Resource: Pods, Names: []string{"p"}}); err == nil || err.Error() != "rules[7] has no metricsQuery" {
		t.Errorf("no metricsQuery: %v", err)
	}
}

func TestWindow(t *testing.T) {
	for q, want := range map[string]time.Duration{
		`sum(rate(x[2m])) by (pod)`:                            2 * time.Minute,
		`predict_linear((sum(rate(x[1m])))[5m:10s], 60)`:       5 * time.Minute,
		`histogram_quantile(0.99, rate(x_bucket[1m30s]))`:      90 * time.Second,
		`sum(x{pod=~"a[0-9]"})`:                                0,
		`avg_over_time(x[500ms])`:                              500 * time.Millisecond,
		`label_replace(x, "a", "$1", "b", "([a-z]+)") + y[3m]`: 3 * time.Minute,
	} {
		if got := Window(q); got != want {
			t.Errorf("Window(%s) = %v, want %v", q, got, want)
		}
	}
}

// A label that names no resource the cluster serves is asked about again
// later: a CRD installed after start-up (or whose group's discovery failed
// at start-up) is learnt by the REST mapper on its next refresh, and its
// metrics must then be served, as prometheus-adapter serves them.
func TestLabelOfAResourceLearntLater(t *testing.T) {
	core := schema.GroupVersion{Version: "v1"}
	argo := schema.GroupVersion{Group: "argoproj.io", Version: "v1alpha1"}
	mapper := apimeta.NewDefaultRESTMapper([]schema.GroupVersion{core, argo})
	mapper.Add(core.WithKind("Pod"), apimeta.RESTScopeNamespace)
	r, err := CompileRule(config.DiscoveryRule{SeriesQuery: `{__name__="x"}`, Resources: config.ResourceMapping{Template: "<<.Resource>>"}}, "rules[0]", false, mapper, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Resources.now = func() time.Time { return clock }
	if gr, ok := r.Resources.ForLabel("rollout"); ok {
		t.Fatalf("rollout maps to %v before the cluster serves it", gr)
	}
	// The mapper's refresh learns the CRD.
	mapper.Add(argo.WithKind("Rollout"), apimeta.RESTScopeNamespace)
	clock = clock.Add(2 * time.Minute)
	want := schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}
	if gr, ok := r.Resources.ForLabel("rollout"); !ok || gr != want {
		t.Errorf("rollout after the mapper learnt rollouts: %v %v, want %v", gr, ok, want)
	}
	if grs, _ := r.Resources.ForLabels([]string{"namespace", "rollout"}); len(grs) != 1 || grs[0] != want {
		t.Errorf("ForLabels: %v", grs)
	}
}
