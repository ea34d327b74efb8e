package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/promtest"
)

// smoothingPrometheus starts Prometheus (o) scraping a 2/s ramp of pod
// shop/web-1 and writes an adapter configuration serving app_ramp with a
// smoothing forecast 30s ahead, the method spelled as given; it returns
// Prometheus and the configuration's path.
func smoothingPrometheus(t *testing.T, o promtest.Options, method string) (*promtest.Server, string) {
	t.Helper()
	p := promtest.Start(t, o)
	start := time.Now()
	addr := promtest.ServeMetrics(t, func(w io.Writer) {
		fmt.Fprintf(w, "app_ramp %g\n", 2*time.Since(start).Seconds())
	})
	p.SetTargets(t, promtest.Target{Addr: addr, Labels: map[string]string{"namespace": "shop", "pod": "web-1"}})
	// The fit window is 10s at a 1s step: wait for 12 samples.
	p.WaitFor(t, `count_over_time(app_ramp[15s]) >= 12`, 1, 45*time.Second)
	cfg := filepath.Join(t.TempDir(), "adapter.yaml")
	yaml := `
rules:
- seriesQuery: '{__name__="app_ramp",namespace!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="app_ramp",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
forecasts:
- matches: app_ramp
  horizons: [30s]
  window: 10s
  step: 1s
  method: ` + method + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, cfg
}

// queryJSON runs `gatescale-adapter query -o json args...` and decodes its
// answer; an error of the command is returned with it, not fatal.
func queryJSON(t *testing.T, args ...string) (queryResult, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"query", "-o", "json"}, args...), &out, &errOut)
	var qr queryResult
	if jerr := json.Unmarshal(out.Bytes(), &qr); jerr != nil {
		t.Fatalf("query %v: %v (%v)\nstdout:\n%s\nstderr:\n%s", args, jerr, err, out.String(), errOut.String())
	}
	return qr, err
}

// checkPlanSent checks that the plan `query` printed for a smoothing
// forecast names fn, not the other name, and that Prometheus runs that
// very PromQL: what is printed is what was sent.
func checkPlanSent(t *testing.T, p *promtest.Server, qr queryResult, fn string) {
	t.Helper()
	other := config.HoltWinters
	if fn == other {
		other = config.DoubleExponentialSmoothing
	}
	t.Logf("%s: PromQL %s", qr.API, qr.Plan.PromQL)
	if !strings.Contains(qr.Plan.PromQL, fn+"((") || strings.Contains(qr.Plan.PromQL, other) {
		t.Errorf("%s: the printed PromQL does not use %s, the name the server accepts:\n%s", qr.API, fn, qr.Plan.PromQL)
	}
	if _, err := p.Query(context.Background(), qr.Plan.PromQL); err != nil {
		t.Errorf("%s: Prometheus refuses the printed PromQL: %v", qr.API, err)
	}
}

// Prometheus 2 knows double exponential smoothing only as holt_winters.
// With the method spelled as Prometheus 3 does, `query` prints, before any
// query has told it the server's name, the plan with holt_winters: the
// query it sends, not one Prometheus would refuse.
func TestQueryPlanOfSmoothingForecastUnderPrometheus3NameOnPrometheus2(t *testing.T) {
	p, cfg := smoothingPrometheus(t, promtest.Options{}, config.DoubleExponentialSmoothing)
	qr, err := queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "-n", "shop", "pods/web-1", "app_ramp_forecast_30s")
	if err != nil || len(qr.Items) != 1 {
		t.Fatalf("custom forecast: %v %+v", err, qr)
	}
	checkPlanSent(t, p, qr, config.HoltWinters)
	if qr.Plan.Forecast != "double_exponential_smoothing 30s ahead" {
		t.Errorf("forecast %q: the method is the configuration's", qr.Plan.Forecast)
	}
	qr, err = queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "--external", "-n", "shop", "app_ramp_forecast_30s")
	if err != nil || len(qr.Items) != 1 {
		t.Fatalf("external forecast: %v %+v", err, qr)
	}
	checkPlanSent(t, p, qr, config.HoltWinters)
}

// Prometheus 3 knows double exponential smoothing only as
// double_exponential_smoothing. With method holt_winters, `query` prints
// the plan with double_exponential_smoothing, as it sends it; without
// experimental functions the error's PromQL is the printed one.
func TestQueryPlanOfSmoothingForecastOnPrometheus3(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	p, cfg := smoothingPrometheus(t, promtest.Options{Binary: bin, Args: []string{"--enable-feature=promql-experimental-functions"}}, config.HoltWinters)
	qr, err := queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "-n", "shop", "pods/web-1", "app_ramp_forecast_30s")
	if err != nil || len(qr.Items) != 1 {
		t.Fatalf("custom forecast: %v %+v", err, qr)
	}
	checkPlanSent(t, p, qr, config.DoubleExponentialSmoothing)
	qr, err = queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "--external", "-n", "shop", "app_ramp_forecast_30s")
	if err != nil || len(qr.Items) != 1 {
		t.Fatalf("external forecast: %v %+v", err, qr)
	}
	checkPlanSent(t, p, qr, config.DoubleExponentialSmoothing)
}

func TestQueryPlanOfSmoothingForecastOnPrometheus3WithoutExperimentalFunctions(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	p, cfg := smoothingPrometheus(t, promtest.Options{Binary: bin}, config.HoltWinters)
	qr, err := queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "-n", "shop", "pods/web-1", "app_ramp_forecast_30s")
	if err == nil || qr.Status != 500 || !strings.Contains(qr.Error, "--enable-feature=promql-experimental-functions") {
		t.Fatalf("want the HPA's 500 saying how to enable the function: %v %+v", err, qr)
	}
	t.Logf("PromQL %s\nerror %s", qr.Plan.PromQL, qr.Error)
	if !strings.Contains(qr.Plan.PromQL, config.DoubleExponentialSmoothing+"((") || !strings.Contains(qr.Error, "(PromQL: "+qr.Plan.PromQL+")") {
		t.Errorf("the printed PromQL is not the one the error is about:\nPromQL %s\nerror %s", qr.Plan.PromQL, qr.Error)
	}
}
