package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/promtest"
)

const testConfig = `
rules:
- seriesQuery: '{__name__=~"^app_.*",namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__="app_broken",namespace!=""}'
  resources: {template: <<.Resource>>}
  name: {as: app_broken_query}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>} by (<<.GroupBy>>)
- seriesQuery: '{__name__="app_inflight",namespace!=""}'
  resources: {template: <<.Resource>>}
  name: {as: app_nan}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>) / 0 * 0
externalRules:
- seriesQuery: '{__name__="app_queue_depth"}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
forecasts:
- matches: app_queue_depth
  horizons: [60s, 2m]
  window: 10s
  step: 1s
  floorAtCurrent: true
`

var (
	pods       = schema.GroupResource{Resource: "pods"}
	services   = schema.GroupResource{Resource: "services"}
	namespaces = schema.GroupResource{Resource: "namespaces"}
	deploys    = schema.GroupResource{Group: "apps", Resource: "deployments"}
)

type fixture struct {
	prom     *promtest.Server
	provider *Provider
	disc     *prom.Discoverer
	extra    atomic.Value // string: more series for web-1
}

// newFixture starts Prometheus scraping two pods of namespace shop:
// web-1 with app_queue_depth{queue="orders"} 45.5 and web-2 with 10
// (orders) and 2 (mail), both with app_inflight.
func newFixture(t *testing.T, cfgText string, objects kube.Objects) *fixture {
	t.Helper()
	f := &fixture{}
	f.extra.Store("")
	p := promtest.Start(t, promtest.Options{})
	web1 := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprintf(w, "app_queue_depth{queue=\"orders\"} 45.5\napp_inflight 3\napp_broken 1\n%s", f.extra.Load().(string))
	})
	web2 := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprint(w, "app_queue_depth{queue=\"orders\"} 10\napp_queue_depth{queue=\"mail\"} 2\napp_inflight 1\n")
	})
	p.SetTargets(t,
		promtest.Target{Addr: web1, Labels: map[string]string{"namespace": "shop", "pod": "web-1", "service": "web"}},
		promtest.Target{Addr: web2, Labels: map[string]string{"namespace": "shop", "pod": "web-2", "service": "web"}},
	)
	p.WaitFor(t, `app_queue_depth`, 3, 30*time.Second)
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("test.yaml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	f.disc = prom.NewDiscoverer(c, prom.DiscovererOptions{Interval: time.Hour, MinGap: time.Millisecond})
	f.provider, err = New(cfg, Options{Prometheus: c, Discoverer: f.disc, Mapper: kube.StaticMapper(), Objects: objects, Metrics: NewMetrics(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.disc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.prom = p
	return f
}

func status(err error) (int32, string) {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Code, se.Status().Message
	}
	return 0, fmt.Sprint(err)
}

func TestCustomMetricsAgainstPrometheus(t *testing.T) {
	objs := kube.NewStatic(
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-2", Labels: map[string]string{"app": "web"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-3", Labels: map[string]string{"app": "web"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "db-1", Labels: map[string]string{"app": "db"}},
	)
	f := newFixture(t, testConfig, objs)
	p := f.provider
	ctx := context.Background()
	info := func(gr schema.GroupResource, m string, namespaced bool) cmprovider.CustomMetricInfo {
		return cmprovider.CustomMetricInfo{GroupResource: gr, Metric: m, Namespaced: namespaced}
	}

	t.Run("by name", func(t *testing.T) {
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_queue_depth", true), labels.Everything())
		if err != nil {
			t.Fatal(err)
		}
		if v.Value.String() != "45500m" || v.DescribedObject.Kind != "Pod" || v.DescribedObject.APIVersion != "v1" || v.DescribedObject.Name != "web-1" || v.DescribedObject.Namespace != "shop" {
			t.Errorf("value %s, object %+v", v.Value.String(), v.DescribedObject)
		}
		if v.WindowSeconds != nil || time.Since(v.Timestamp.Time) > 5*time.Second || v.Metric.Name != "app_queue_depth" {
			t.Errorf("window %v, timestamp %v, metric %+v", v.WindowSeconds, v.Timestamp, v.Metric)
		}
	})
	t.Run("metric selector", func(t *testing.T) {
		sel := labels.SelectorFromSet(labels.Set{"queue": "mail"})
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-2"}, info(pods, "app_queue_depth", true), sel)
		if err != nil || v.Value.String() != "2" || v.Metric.Selector == nil || v.Metric.Selector.MatchLabels["queue"] != "mail" {
			t.Errorf("value %v, err %v", v, err)
		}
	})
	t.Run("by label selector", func(t *testing.T) {
		list, err := p.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}), info(pods, "app_queue_depth", true), labels.Everything())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range list.Items {
			got = append(got, it.DescribedObject.Name+"="+it.Value.String())
		}
		if strings.Join(got, " ") != "web-1=45500m web-2=12" {
			t.Errorf("items: %v (web-3 has no series and is left out)", got)
		}
		list, err = p.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "none"}), info(pods, "app_queue_depth", true), labels.Everything())
		if err != nil || len(list.Items) != 0 {
			t.Errorf("no matching pods: %v %v", list, err)
		}
		_, err = p.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "db"}), info(pods, "app_queue_depth", true), labels.Everything())
		if code, msg := status(err); code != 404 || !strings.Contains(msg, `none of the 1 pods matching "app=db" in namespace shop has a value (PromQL: sum(app_queue_depth{namespace="shop",pod="db-1"}) by (pod))`) {
			t.Errorf("pods without series: %d %s", code, msg)
		}
	})
	t.Run("root-scoped and other resources", func(t *testing.T) {
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Name: "shop"}, info(namespaces, "app_queue_depth", false), labels.Everything())
		if err != nil || v.Value.String() != "57500m" || v.DescribedObject.Kind != "Namespace" {
			t.Errorf("namespace: %v %v", v, err)
		}
		v, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web"}, info(services, "app_inflight", true), labels.Everything())
		if err != nil || v.Value.String() != "4" || v.DescribedObject.Kind != "Service" {
			t.Errorf("service: %v %v", v, err)
		}
	})
	t.Run("not found errors", func(t *testing.T) {
		_, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_nope", true), labels.Everything())
		code, msg := status(err)
		for _, want := range []string{"metric app_nope is not served for pods; series discovery ran", "none of the 3 rules produced it:", `rules[1] (seriesQuery {__name__="app_broken",namespace!=""}, name ".*" as "app_broken_query") produced app_broken_query`, `rules[0] (seriesQuery {__name__=~"^app_.*",namespace!="",pod!=""}) produced app_broken, app_inflight, app_queue_depth`} {
			if code != 404 || !strings.Contains(msg, want) {
				t.Errorf("unknown metric: %d %q lacks %q", code, msg, want)
			}
		}
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web"}, info(deploys, "app_queue_depth", true), labels.Everything())
		if code, msg := status(err); code != 404 || !strings.HasSuffix(msg, "metric app_queue_depth is not served for deployments.apps; it is served for jobs.batch, namespaces, pods, services") {
			t.Errorf("other resource: %d %s", code, msg)
		}
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-3"}, info(pods, "app_queue_depth", true), labels.Everything())
		if code, msg := status(err); code != 404 || msg != `metric app_queue_depth for pods shop/web-3: Prometheus returned no series for this object (PromQL: sum(app_queue_depth{namespace="shop",pod="web-3"}) by (pod))` {
			t.Errorf("object without series: %d %s", code, msg)
		}
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(schema.GroupResource{Resource: "frobs"}, "app_queue_depth", true), labels.Everything())
		if code, msg := status(err); code != 404 || !strings.Contains(msg, "resource frobs is not known to the cluster") {
			t.Errorf("unknown resource: %d %s", code, msg)
		}
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_nan", true), labels.Everything())
		if code, msg := status(err); code != 404 || !strings.Contains(msg, "the value is NaN") {
			t.Errorf("NaN: %d %s", code, msg)
		}
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_broken_query", true), labels.Everything())
		if code, msg := status(err); code != 500 || !strings.Contains(msg, "refused the query sum(app_broken{namespace=\"shop\",pod=\"web-1\"} by (pod)") {
			t.Errorf("bad PromQL: %d %s", code, msg)
		}
	})
	t.Run("forecast", func(t *testing.T) {
		// A constant series forecasts as itself.
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_queue_depth_forecast_120s", true), labels.Everything())
		if err != nil || v.Value.String() != "45500m" || v.WindowSeconds == nil || *v.WindowSeconds != 10 {
			t.Errorf("forecast: %v %v", v, err)
		}
	})
	t.Run("on-demand discovery", func(t *testing.T) {
		f.extra.Store("app_new_metric 7\n")
		f.prom.WaitFor(t, `app_new_metric`, 1, 20*time.Second)
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_new_metric", true), labels.Everything())
		if err != nil || v.Value.String() != "7" {
			t.Errorf("new metric: %v %v", v, err)
		}
	})
	t.Run("list", func(t *testing.T) {
		var got []string
		for _, m := range p.ListAllMetrics() {
			if m.GroupResource == pods {
				got = append(got, fmt.Sprintf("%s/%v", m.Metric, m.Namespaced))
			}
			if m.GroupResource == namespaces && m.Namespaced {
				t.Errorf("namespaces listed as namespaced: %+v", m)
			}
		}
		want := "app_broken/true app_broken_query/true app_inflight/true app_nan/true app_new_metric/true app_queue_depth/true app_queue_depth_forecast_120s/true app_queue_depth_forecast_60s/true"
		if strings.Join(got, " ") != want {
			t.Errorf("pods metrics:\n got %s\nwant %s", strings.Join(got, " "), want)
		}
	})
	t.Run("prometheus down", func(t *testing.T) {
		f.prom.Stop()
		_, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_queue_depth", true), labels.Everything())
		if code, msg := status(err); code != 503 || !strings.Contains(msg, "prometheus at "+f.prom.URL+" is unavailable") || !strings.Contains(msg, "connection refused") {
			t.Errorf("prometheus down: %d %s", code, msg)
		}
		// Discovery fails too, but what it knew stays served.
		s, _ := f.disc.Refresh(ctx)
		if len(s.Errors) == 0 || len(p.ListAllMetrics()) == 0 {
			t.Errorf("discovery errors %v, metrics %d", s.Errors, len(p.ListAllMetrics()))
		}
		// A metric discovery could not look up is a 503 too, not a 404.
		_, err = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info(pods, "app_nope", true), labels.Everything())
		if code, msg := status(err); code != 503 || !strings.Contains(msg, "metric app_nope cannot be looked up: series discovery failed for 3 rule(s): prometheus at") {
			t.Errorf("unknown metric, prometheus down: %d %s", code, msg)
		}
	})
}

func TestExternalMetricsAgainstPrometheus(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	p := f.provider
	ctx := context.Background()
	list, err := p.GetExternalMetric(ctx, "shop", labels.Everything(), cmprovider.ExternalMetricInfo{Metric: "app_queue_depth"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range list.Items {
		got = append(got, labels.Set(it.MetricLabels).String()+"="+it.Value.String())
	}
	if strings.Join(got, " ") != "queue=mail=2 queue=orders=55500m" {
		t.Errorf("items: %v", got)
	}
	list, err = p.GetExternalMetric(ctx, "shop", labels.SelectorFromSet(labels.Set{"queue": "mail"}), cmprovider.ExternalMetricInfo{Metric: "app_queue_depth_forecast_60s"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Value.String() != "2" {
		t.Errorf("forecast with selector: %v %v", list, err)
	}
	_, err = p.GetExternalMetric(ctx, "other", labels.Everything(), cmprovider.ExternalMetricInfo{Metric: "app_queue_depth"})
	if code, msg := status(err); code != 404 || msg != `external metric app_queue_depth in namespace other: Prometheus returned no series (PromQL: sum(app_queue_depth{namespace="other"}) by (queue))` {
		t.Errorf("empty: %d %s", code, msg)
	}
	_, err = p.GetExternalMetric(ctx, "shop", labels.Everything(), cmprovider.ExternalMetricInfo{Metric: "app_nope"})
	if code, msg := status(err); code != 404 || !strings.Contains(msg, `external metric app_nope is not served; series discovery ran`) || !strings.Contains(msg, `externalRules[0] (seriesQuery {__name__="app_queue_depth"}) produced app_queue_depth`) {
		t.Errorf("unknown: %d %s", code, msg)
	}
	// Without an object lister, pods can be listed all at once but not by
	// label.
	all, err := p.GetMetricBySelector(ctx, "shop", labels.Everything(), cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_inflight", Namespaced: true}, labels.Everything())
	if err != nil || len(all.Items) != 2 {
		t.Errorf("all pods: %v %v", all, err)
	}
	_, err = p.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}), cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_inflight", Namespaced: true}, labels.Everything())
	if code, msg := status(err); code != 400 || !strings.Contains(msg, "needs the Kubernetes API") {
		t.Errorf("selector without lister: %d %s", code, msg)
	}
}

func TestReloadAndCompactMode(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	p := f.provider
	bad, err := config.Parse("bad.yaml", []byte(`
rules:
- seriesQuery: '{__name__="x"}'
  resources: {overrides: {shard: {group: example.com, resource: shards}}}
  metricsQuery: x
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:4:") {
		t.Errorf("bad config: %v", err)
	}
	if p.Config().Source().Name != "test.yaml" || len(p.ListAllMetrics()) == 0 {
		t.Errorf("the old config must stay in force")
	}
	compact, err := config.Parse("compact.yaml", []byte(testConfig+"discovery: {mode: compact}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig(compact); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.ListAllMetrics() {
		got = append(got, m.GroupResource.String()+"/"+m.Metric)
	}
	// jobs.batch: Prometheus's job label names a resource through the
	// template <<.Resource>>, as it does in prometheus-adapter.
	if strings.Join(got, " ") != "jobs.batch/custommetrics namespaces/custommetrics pods/custommetrics services/custommetrics" {
		t.Errorf("compact custom: %v", got)
	}
	if ext := p.ListAllExternalMetrics(); len(ext) != 1 || ext[0].Metric != "externalmetrics" {
		t.Errorf("compact external: %v", ext)
	}
	// Every metric still answers.
	v, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "shop", Name: "web-1"}, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_inflight", Namespaced: true}, labels.Everything())
	if err != nil || v.Value.String() != "3" {
		t.Errorf("compact query: %v %v", v, err)
	}
}

// A reload that adds a rule with a new seriesQuery serves its metric at
// once: the request for it (the HPA waiting for it, typically) makes
// discovery list the new selector, not take the snapshot of a run that
// listed only the old ones for recent enough (MinGap, here an hour so
// that every run counts as recent) and answer 404.
func TestReloadedRuleServedAtOnce(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	c, err := prom.New(prom.Config{URL: f.prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{Interval: time.Hour, MinGap: time.Hour})
	const inflight = `
rules:
- seriesQuery: '{__name__="app_inflight",namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	before, err := config.Parse("before.yaml", []byte(inflight))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(before, Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper()})
	if err != nil {
		t.Fatal(err)
	}
	web1 := types.NamespacedName{Namespace: "shop", Name: "web-1"}
	get := func(metric string) (*custom_metrics.MetricValue, error) {
		return p.GetMetricByName(context.Background(), web1, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: metric, Namespaced: true}, labels.Everything())
	}
	if v, err := get("app_inflight"); err != nil || v.Value.String() != "3" {
		t.Fatalf("app_inflight before the reload: %v %v", v, err)
	}
	after, err := config.Parse("after.yaml", []byte(inflight+`
- seriesQuery: '{__name__="app_queue_depth",namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig(after); err != nil {
		t.Fatal(err)
	}
	if v, err := get("app_queue_depth"); err != nil || v.Value.String() != "45500m" {
		t.Errorf("app_queue_depth of the rule the reload added: %v %v", v, err)
	}
	if v, err := get("app_inflight"); err != nil || v.Value.String() != "3" {
		t.Errorf("app_inflight after the reload: %v %v", v, err)
	}
}

// A forecast of a ramp is ahead of it by the ramp's slope times the
// horizon; with floorAtCurrent a falling series forecasts as itself.
func TestForecastOfARamp(t *testing.T) {
	// Rising 2/s, and falling 1/s from 1000.
	p := forecasttest.StartRamp(t, promtest.Options{})
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("forecast.yaml", []byte(`
rules:
- seriesQuery: '{__name__=~"app_ramp|app_fall",namespace!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
forecasts:
- matches: app_ramp|app_fall
  horizons: [60s]
  window: 10s
  step: 1s
  floorAtCurrent: true
- matches: app_ramp
  horizons: [30s]
  window: 10s
  step: 1s
  method: holt_winters
`))
	if err != nil {
		t.Fatal(err)
	}
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{})
	prov, err := New(cfg, Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(metric string) float64 {
		t.Helper()
		v, err := prov.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: metric, Namespaced: true}, labels.Everything())
		if err != nil {
			t.Fatalf("%s: %v", metric, err)
		}
		return v.Value.AsApproximateFloat64()
	}
	now, ahead := get("app_ramp"), get("app_ramp_forecast_60s")
	t.Logf("app_ramp = %.1f, forecast 60s ahead = %.1f (slope 2/s: +120 expected)", now, ahead)
	if d := ahead - now; d < 110 || d > 130 {
		t.Errorf("predict_linear 60s ahead of a 2/s ramp: +%.1f, want about +120", d)
	}
	hw := get("app_ramp_forecast_30s")
	t.Logf("holt_winters forecast 30s ahead = %.1f (+60 expected)", hw)
	if d := hw - now; d < 50 || d > 70 {
		t.Errorf("holt_winters 30s ahead of a 2/s ramp: +%.1f, want about +60", d)
	}
	fall, fallAhead := get("app_fall"), get("app_fall_forecast_60s")
	if math.Abs(fallAhead-fall) > 1.5 {
		t.Errorf("a falling series with floorAtCurrent forecasts %.1f, current %.1f", fallAhead, fall)
	}
	plan, err := prov.PlanCustom(ctx, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_fall_forecast_60s", Namespaced: true}, "shop", []string{"web-1"}, labels.Everything())
	want := `(predict_linear((sum(app_fall{namespace="shop",pod="web-1"}) by (pod))[10s:1s], 60) > (sum(app_fall{namespace="shop",pod="web-1"}) by (pod))) or (sum(app_fall{namespace="shop",pod="web-1"}) by (pod))`
	if err != nil || plan.PromQL != want || plan.Forecast != "predict_linear 1m0s ahead" {
		t.Errorf("plan: %+v %v", plan, err)
	}
}

// With native histograms (Prometheus started with the feature, the gateway
// exposing them), the preset computes p99 from the native histogram, the
// rule listed first.
func TestPresetP99FromNativeHistogram(t *testing.T) {
	p := promtest.Start(t, promtest.Options{Args: []string{"--enable-feature=native-histograms"}})
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatescale_http_request_duration_seconds", Help: "test",
		NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160,
	}, []string{"route", "method"})
	reg.MustRegister(h)
	// 1..100 ms, over and over: the p99 is 99 ms.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			h.WithLabelValues("users", "GET").Observe(float64(i%100+1) / 1000)
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.SetTargets(t, promtest.Target{Addr: ln.Addr().String(), Labels: map[string]string{"namespace": "shop", "pod": "gw-0"}})
	p.WaitFor(t, `histogram_count(rate(gatescale_http_request_duration_seconds[5s])) > 0`, 1, 30*time.Second)

	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{})
	prov, err := New(config.GatewayPreset(5*time.Second), Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper()})
	if err != nil {
		t.Fatal(err)
	}
	info := cmprovider.CustomMetricInfo{GroupResource: pods, Metric: config.GatewayRequestDurationP99, Namespaced: true}
	v, err := prov.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "shop", Name: "gw-0"}, info, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	got := v.Value.AsApproximateFloat64()
	t.Logf("p99 from the native histogram: %s", v.Value.String())
	if got < 0.090 || got > 0.110 {
		t.Errorf("p99 = %v s, want about 0.099", got)
	}
	plan, err := prov.PlanCustom(context.Background(), info, "shop", []string{"gw-0"}, labels.Everything())
	if err != nil || !strings.HasPrefix(plan.Rule, "rules[1] ") || plan.Series != "gatescale_http_request_duration_seconds" {
		t.Errorf("plan: %+v %v", plan, err)
	}
}

// prometheus-adapter's own example configurations, against series shaped
// as their documentation describes, give the metric names it gives.
func TestPrometheusAdapterConfigsGiveTheSameNames(t *testing.T) {
	p := promtest.Start(t, promtest.Options{})
	start := time.Now()
	// The walkthrough's frontend: http_requests_total{method} with
	// kubernetes_namespace and kubernetes_pod_name added by Prometheus.
	front := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprintf(w, "# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\"} %d\n", int(time.Since(start).Seconds()*10))
	})
	// A cAdvisor-like target for the Helm chart's default rules.
	cadvisor := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprintf(w, "container_cpu_usage_seconds_total{container=\"app\",namespace=\"shop\",pod=\"web-1\"} %g\ncontainer_memory_working_set_bytes{container=\"app\",namespace=\"shop\",pod=\"web-1\"} 1e6\n", time.Since(start).Seconds()/4)
	})
	p.SetTargets(t,
		promtest.Target{Addr: front, Labels: map[string]string{"kubernetes_namespace": "production", "kubernetes_pod_name": "frontend-server-abcd-0123"}},
		promtest.Target{Addr: cadvisor, Labels: map[string]string{"job": "kubelet"}},
	)
	p.WaitFor(t, `http_requests_total or container_cpu_usage_seconds_total`, 2, 30*time.Second)
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	names := func(file string) string {
		t.Helper()
		cfg, err := config.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		disc := prom.NewDiscoverer(c, prom.DiscovererOptions{})
		prov, err := New(cfg, Options{Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := disc.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range prov.ListAllMetrics() {
			out = append(out, fmt.Sprintf("%s/%s(namespaced=%v)", m.GroupResource, m.Metric, m.Namespaced))
		}
		return strings.Join(out, " ")
	}
	if got, want := names("../config/testdata/walkthrough.yaml"), "namespaces/http_requests_per_second(namespaced=false) pods/http_requests_per_second(namespaced=true)"; got != want {
		t.Errorf("walkthrough:\n got %s\nwant %s", got, want)
	}
	// The default rules: container_ metrics lose their prefix and _total
	// or _seconds_total suffix; the frontend's series has no namespace
	// label (only kubernetes_namespace), so the default rules skip it.
	if got, want := names("../config/testdata/helm-default.yaml"), "namespaces/cpu_usage(namespaced=false) namespaces/memory_working_set_bytes(namespaced=false) pods/cpu_usage(namespaced=true) pods/memory_working_set_bytes(namespaced=true)"; got != want {
		t.Errorf("helm default:\n got %s\nwant %s", got, want)
	}
}

// An object listing that fails (the Kubernetes API unreachable) is
// reported as that listing, not as a Prometheus query with an empty
// PromQL: whoever reads the HPA's events must look at the right server.
func TestListingErrorsNameTheListing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, testConfig+`
resourceRules:
  cpu:
    containerQuery: sum(app_inflight{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(app_inflight{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources: {template: <<.Resource>>}
    containerLabel: container
  memory:
    containerQuery: sum(app_inflight{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(app_inflight{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources: {template: <<.Resource>>}
    containerLabel: container
  window: 1m
`, &kube.Dynamic{Client: dyn, Mapper: kube.StaticMapper()})
	ctx := context.Background()
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	_, err = f.provider.GetMetricBySelector(ctx, "shop", web, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_queue_depth", Namespaced: true}, labels.Everything())
	if code, msg := status(err); code != 500 || strings.Contains(msg, "prometheus") || !strings.Contains(msg, `listing pods matching "app=web"`) || !strings.Contains(msg, "connection refused") {
		t.Errorf("custom metric of pods by selector: %d %s", code, msg)
	}
	_, err = f.provider.NodeMetrics(ctx, labels.SelectorFromSet(labels.Set{"role": "edge"}), nil)
	if code, msg := status(err); code != 500 || strings.Contains(msg, "prometheus") || !strings.Contains(msg, `listing nodes`) || !strings.Contains(msg, "connection refused") {
		t.Errorf("node metrics by selector: %d %s", code, msg)
	}
}

// A rule that cannot make a query (no metricsQuery: loaded with a warning,
// as prometheus-adapter loads it) is the adapter's fault, a 500 on both
// APIs; a 400 would tell the HPA's reader to fix the request.
func TestRuleErrorsAreInternal(t *testing.T) {
	f := newFixture(t, `
rules:
- seriesQuery: '{__name__="app_inflight",namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
externalRules:
- seriesQuery: '{__name__="app_inflight",namespace!=""}'
  resources: {template: <<.Resource>>}
`, nil)
	ctx := context.Background()
	_, err := f.provider.GetExternalMetric(ctx, "shop", labels.Everything(), cmprovider.ExternalMetricInfo{Metric: "app_inflight"})
	if code, msg := status(err); code != 500 || !strings.Contains(msg, "externalRules[0] has no metricsQuery") {
		t.Errorf("external rule without metricsQuery: %d %s", code, msg)
	}
	_, err = f.provider.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_inflight", Namespaced: true}, labels.Everything())
	if code, msg := status(err); code != 500 || !strings.Contains(msg, "rules[0] has no metricsQuery") {
		t.Errorf("rule without metricsQuery: %d %s", code, msg)
	}
}

// A metricsQuery that does not aggregate per object returns several
// series for one pod (web-2 has queues orders and mail): the request is
// refused with a 500 saying so, rather than answered with one of them as
// prometheus-adapter does, and by label selector the whole list is,
// though web-1 has one series. Docs: "Differences from prometheus-adapter".
func TestQueryNotAggregatingPerObjectIsRefused(t *testing.T) {
	objs := kube.NewStatic(
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		kube.Object{Resource: pods, Namespace: "shop", Name: "web-2", Labels: map[string]string{"app": "web"}},
	)
	f := newFixture(t, `
rules:
- seriesQuery: '{__name__="app_queue_depth",namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: <<.Series>>{<<.LabelMatchers>>}
`, objs)
	ctx := context.Background()
	info := cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_queue_depth", Namespaced: true}
	v, err := f.provider.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, info, labels.Everything())
	if err != nil || v.Value.String() != "45500m" {
		t.Errorf("web-1, one series: %v %v", v, err)
	}
	const want = `metric app_queue_depth for pods web-2: the query returned several series for one object; its metricsQuery must aggregate by (<<.GroupBy>>) (PromQL: app_queue_depth{namespace="shop",pod=`
	_, err = f.provider.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-2"}, info, labels.Everything())
	if code, msg := status(err); code != 500 || !strings.Contains(msg, want) {
		t.Errorf("web-2 by name: %d %s", code, msg)
	}
	list, err := f.provider.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}), info, labels.Everything())
	if code, msg := status(err); code != 500 || !strings.Contains(msg, want) {
		t.Errorf("by label selector: %v, %d %s", list, code, msg)
	}
}

// podUsage serves resource metrics whose CPU and memory queries are cpu
// and memory, each with %s standing for the pod's app_inflight (3 for
// web-1, 1 for web-2), and returns the pod metrics of namespace shop as
// "pod/container cpu=… memory=…" items.
func podUsage(t *testing.T, cpu, memory string) string {
	t.Helper()
	const sum = `sum(app_inflight{<<.LabelMatchers>>}) by (<<.GroupBy>>)`
	rule := func(expr string) string {
		return `label_replace(` + fmt.Sprintf(expr, sum) + `, "container", "app", "", "")`
	}
	f := newFixture(t, testConfig+fmt.Sprintf(`
resourceRules:
  cpu:
    containerQuery: '%[1]s'
    nodeQuery: '%[1]s'
    resources: {template: <<.Resource>>}
    containerLabel: container
  memory:
    containerQuery: '%[2]s'
    nodeQuery: '%[2]s'
    resources: {template: <<.Resource>>}
    containerLabel: container
  window: 1m
`, rule(cpu), rule(memory)), nil)
	pm, err := f.provider.PodMetrics(context.Background(), "shop", labels.Everything(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pm {
		for _, c := range p.Containers {
			got = append(got, fmt.Sprintf("%s/%s cpu=%s memory=%s", p.Name, c.Name, c.Usage.Cpu(), c.Usage.Memory()))
		}
	}
	return strings.Join(got, " ")
}

// A containerQuery or nodeQuery that computes usage (a working set as
// usage minus inactive file, say) can dip below zero; the HPA would read
// a negative usage as a reason to scale in. It is reported as zero, as
// prometheus-adapter reports it.
func TestNegativeResourceUsageIsZero(t *testing.T) {
	if got := podUsage(t, "-%s", "-1024 * %s"); got != "web-1/app cpu=0 memory=0 web-2/app cpu=0 memory=0" {
		t.Errorf("pod metrics: %v", got)
	}
}

// A containerQuery that divides (usage over a ratio, say) can give +Inf,
// or a value beyond what a quantity holds. Converted as is, +Inf CPU was
// -9223372036854775808m: kubectl top showed it, and the HPA took it for
// a reason to scale in to its minimum. Such a value is no usage, like
// NaN: the container is left out, as a container without one of the two
// resources is.
func TestInfiniteResourceUsageLeftOut(t *testing.T) {
	if got := podUsage(t, "%s / 0", "%s * 1e300"); got != "" {
		t.Errorf("pod metrics of an infinite CPU and an out-of-range memory usage: %v, want none", got)
	}
}

// The CPU and memory rules may map the namespace to different labels
// (their series come from different exporters). Across all namespaces,
// each query must group by its own rule's namespace label, as
// prometheus-adapter queries each rule with its own mapping; otherwise
// the memory rows cannot be matched to their pods and the pods are left
// out of kubectl top.
func TestPodMetricsAcrossNamespacesWithDifferentNamespaceLabels(t *testing.T) {
	f := newFixture(t, testConfig+`
resourceRules:
  cpu:
    containerQuery: sum(app_cpu{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(app_cpu{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources: {template: <<.Resource>>}
    containerLabel: container
  memory:
    containerQuery: sum(app_mem{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(app_mem{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources:
      overrides:
        k8s_ns: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  window: 1m
`, nil)
	f.extra.Store("app_cpu{container=\"app\"} 0.25\napp_mem{container=\"app\",k8s_ns=\"shop\"} 1024\n")
	f.prom.WaitFor(t, `app_cpu`, 1, 30*time.Second)
	f.prom.WaitFor(t, `app_mem`, 1, 30*time.Second)
	pm, err := f.provider.PodMetrics(context.Background(), "", labels.Everything(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pm {
		for _, c := range p.Containers {
			got = append(got, fmt.Sprintf("%s/%s/%s cpu=%s memory=%s", p.Namespace, p.Name, c.Name, c.Usage.Cpu(), c.Usage.Memory()))
		}
	}
	if want := "shop/web-1/app cpu=250m memory=1Ki"; strings.Join(got, " ") != want {
		t.Errorf("pod metrics across namespaces: got %q, want %q", got, want)
	}
}
