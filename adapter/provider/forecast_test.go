package provider

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// smoothingFixture is a Prometheus scraping forecasttest's ramp and a
// Provider serving forecasttest.SmoothingConfig(method) from it.
type smoothingFixture struct {
	prov    *Provider
	reg     *prometheus.Registry
	log     *logcapture.Buffer
	promURL string
}

func newSmoothingFixture(t *testing.T, o promtest.Options, method string) *smoothingFixture {
	t.Helper()
	p := forecasttest.StartRamp(t, o)
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("forecast.yaml", []byte(forecasttest.SmoothingConfig(method)))
	if err != nil {
		t.Fatal(err)
	}
	f := &smoothingFixture{reg: prometheus.NewRegistry(), log: &logcapture.Buffer{}, promURL: p.URL}
	f.prov, err = New(cfg, Options{
		Prometheus: c, Discoverer: prom.NewDiscoverer(c, prom.DiscovererOptions{}), Mapper: kube.StaticMapper(),
		Metrics: NewMetrics(f.reg), Logger: slog.New(slog.NewTextHandler(f.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *smoothingFixture) get(metric string) (float64, error) {
	v, err := f.prov.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "shop", Name: "web-1"}, cmprovider.CustomMetricInfo{GroupResource: pods, Metric: metric, Namespaced: true}, labels.Everything())
	if err != nil {
		return 0, err
	}
	return v.Value.AsApproximateFloat64(), nil
}

func (f *smoothingFixture) getExternal(metric string) (float64, error) {
	l, err := f.prov.GetExternalMetric(context.Background(), "shop", labels.Everything(), cmprovider.ExternalMetricInfo{Metric: metric})
	if err != nil {
		return 0, err
	}
	return l.Items[0].Value.AsApproximateFloat64(), nil
}

// queries is how many queries the adapter has sent Prometheus for api.
func (f *smoothingFixture) queries(t *testing.T, api string) uint64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatescale_adapter_prometheus_query_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "api" && l.GetValue() == api {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// checkAhead checks that the 30s smoothing forecast of the 2/s ramp is
// about 60 ahead of the ramp, as TestForecastOfARamp does on Prometheus 2.
func (f *smoothingFixture) checkAhead(t *testing.T, get func(string) (float64, error)) {
	t.Helper()
	now, err := get("app_ramp")
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := get("app_ramp_forecast_30s")
	if err != nil {
		t.Fatalf("app_ramp_forecast_30s: %v", err)
	}
	t.Logf("app_ramp = %.1f, smoothing forecast 30s ahead = %.1f (+60 expected)", now, ahead)
	if d := ahead - now; d < 50 || d > 70 {
		t.Errorf("smoothing forecast 30s ahead of a 2/s ramp: +%.1f, want about +60", d)
	}
}

// On Prometheus 3 with experimental functions enabled, method holt_winters
// (which Prometheus 3 does not know by that name) forecasts: the first
// query is refused, the adapter asks again with double_exponential_smoothing
// and sends that name from then on, one query per request.
func TestSmoothingForecastOnPrometheus3(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	f := newSmoothingFixture(t, promtest.Options{Binary: bin, Args: []string{"--enable-feature=promql-experimental-functions"}}, config.HoltWinters)
	f.checkAhead(t, f.get)
	// app_ramp (1 query), then the forecast: refused once, asked again.
	if n := f.queries(t, "custom"); n != 3 {
		t.Errorf("after the first forecast the adapter sent %d custom queries, want 3 (the current value, the refused forecast and the retry)", n)
	}
	f.checkAhead(t, f.get)
	if n := f.queries(t, "custom"); n != 5 {
		t.Errorf("after the second forecast the adapter sent %d custom queries, want 5: the name should have been kept", n)
	}
	f.checkAhead(t, f.getExternal)
	if n := f.queries(t, "external"); n != 2 {
		t.Errorf("the external forecast took %d queries with the name known, want 2", n)
	}
	plan, err := f.prov.PlanCustom(context.Background(), cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_ramp_forecast_30s", Namespaced: true}, "shop", []string{"web-1"}, labels.Everything())
	if err != nil || !strings.Contains(plan.PromQL, "double_exponential_smoothing((") {
		t.Errorf("plan after the switch: %+v %v", plan, err)
	}
	if !strings.Contains(f.log.String(), "using=double_exponential_smoothing") {
		t.Errorf("the switch is not logged:\n%s", f.log.String())
	}
}

// On Prometheus 3 without experimental functions the smoothing method
// cannot run; the API's error and the adapter's log say what to do, and
// the log says it once however often the HPA asks.
func TestSmoothingForecastOnPrometheus3WithoutExperimentalFunctions(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	f := newSmoothingFixture(t, promtest.Options{Binary: bin}, config.HoltWinters)
	if _, err := f.get("app_ramp"); err != nil {
		t.Fatalf("app_ramp itself: %v", err)
	}
	wants := []string{
		"forecast metric app_ramp_forecast_30s (method holt_winters)",
		"prometheus at " + f.promURL,
		"start Prometheus with --enable-feature=promql-experimental-functions, or use method: predict_linear",
		"PromQL: (double_exponential_smoothing((sum(app_ramp",
	}
	for i, get := range []func(string) (float64, error){f.get, f.getExternal, f.get} {
		_, err := get("app_ramp_forecast_30s")
		code, msg := status(err)
		if code != 500 {
			t.Errorf("request %d: status %d (%v), want 500", i, code, err)
		}
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				t.Errorf("request %d: the error does not say %q:\n%s", i, w, msg)
			}
		}
	}
	log := f.log.String()
	if n := strings.Count(log, "--enable-feature=promql-experimental-functions"); n != 1 {
		t.Errorf("the log says it %d times, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "level=ERROR") {
		t.Errorf("not logged as an error:\n%s", log)
	}
}

// Prometheus 2 knows only holt_winters: method double_exponential_smoothing
// (Prometheus 3's name) forecasts there too.
func TestSmoothingForecastUnderPrometheus3NameOnPrometheus2(t *testing.T) {
	f := newSmoothingFixture(t, promtest.Options{}, config.DoubleExponentialSmoothing)
	f.checkAhead(t, f.get)
	if n := f.queries(t, "custom"); n != 3 {
		t.Errorf("after the first forecast the adapter sent %d custom queries, want 3 (the current value, the refused forecast and the retry)", n)
	}
	plan, err := f.prov.PlanCustom(context.Background(), cmprovider.CustomMetricInfo{GroupResource: pods, Metric: "app_ramp_forecast_30s", Namespaced: true}, "shop", []string{"web-1"}, labels.Everything())
	if err != nil || !strings.Contains(plan.PromQL, "(holt_winters((") || plan.Forecast != "double_exponential_smoothing 30s ahead" {
		t.Errorf("plan after the switch: %+v %v", plan, err)
	}
}
