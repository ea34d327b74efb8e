package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/promtest"
)

// smoothingPrometheus starts Prometheus (o) scraping forecasttest's ramp
// and writes forecasttest.SmoothingConfig(method); it returns Prometheus
// and the configuration's path.
func smoothingPrometheus(t *testing.T, o promtest.Options, method string) (*promtest.Server, string) {
	t.Helper()
	p := forecasttest.StartRamp(t, o)
	cfg := filepath.Join(t.TempDir(), "adapter.yaml")
	if err := os.WriteFile(cfg, []byte(forecasttest.SmoothingConfig(method)), 0o644); err != nil {
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

// checkPlansSent runs `query` for the custom (of the ramp's pod) and the
// external forecast of the ramp, each a new run that knows no name yet,
// and checks that the plan printed names fn, not the other name, and that
// Prometheus runs that very PromQL: what is printed is what was sent. It
// returns the custom answer.
func checkPlansSent(t *testing.T, p *promtest.Server, cfg, fn string) queryResult {
	t.Helper()
	other := config.HoltWinters
	if fn == other {
		other = config.DoubleExponentialSmoothing
	}
	var custom queryResult
	for _, args := range [][]string{{"pods/" + forecasttest.Pod}, {"--external"}} {
		qr, err := queryJSON(t, append([]string{"--prometheus-url", p.URL, "--config", cfg, "-n", forecasttest.Namespace}, append(args, "app_ramp_forecast_30s")...)...)
		if err != nil || len(qr.Items) != 1 {
			t.Fatalf("%s: %v %+v", qr.API, err, qr)
		}
		t.Logf("%s: PromQL %s", qr.API, qr.Plan.PromQL)
		if !strings.Contains(qr.Plan.PromQL, fn+"((") || strings.Contains(qr.Plan.PromQL, other) {
			t.Errorf("%s: the printed PromQL does not use %s, the name the server accepts:\n%s", qr.API, fn, qr.Plan.PromQL)
		}
		if _, err := p.Query(context.Background(), qr.Plan.PromQL); err != nil {
			t.Errorf("%s: Prometheus refuses the printed PromQL: %v", qr.API, err)
		}
		if custom.API == "" {
			custom = qr
		}
	}
	return custom
}

// Prometheus 2 knows double exponential smoothing only as holt_winters.
// With the method spelled as Prometheus 3 does, `query` prints, before any
// query has told it the server's name, the plan with holt_winters: the
// query it sends, not one Prometheus would refuse.
func TestQueryPlanOfSmoothingForecastUnderPrometheus3NameOnPrometheus2(t *testing.T) {
	p, cfg := smoothingPrometheus(t, promtest.Options{}, config.DoubleExponentialSmoothing)
	qr := checkPlansSent(t, p, cfg, config.HoltWinters)
	if qr.Plan.Forecast != "double_exponential_smoothing 30s ahead" {
		t.Errorf("forecast %q: the method is the configuration's", qr.Plan.Forecast)
	}
}

// Prometheus 3 knows double exponential smoothing only as
// double_exponential_smoothing. With method holt_winters, `query` prints
// the plan with double_exponential_smoothing, as it sends it; without
// experimental functions the error's PromQL is the printed one.
func TestQueryPlanOfSmoothingForecastOnPrometheus3(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	p, cfg := smoothingPrometheus(t, promtest.Options{Binary: bin, Args: []string{"--enable-feature=promql-experimental-functions"}}, config.HoltWinters)
	checkPlansSent(t, p, cfg, config.DoubleExponentialSmoothing)
}

func TestQueryPlanOfSmoothingForecastOnPrometheus3WithoutExperimentalFunctions(t *testing.T) {
	bin := promtest.Prometheus3Binary(t)
	p, cfg := smoothingPrometheus(t, promtest.Options{Binary: bin}, config.HoltWinters)
	qr, err := queryJSON(t, "--prometheus-url", p.URL, "--config", cfg, "-n", forecasttest.Namespace, "pods/"+forecasttest.Pod, "app_ramp_forecast_30s")
	if err == nil || qr.Status != 500 || !strings.Contains(qr.Error, "--enable-feature=promql-experimental-functions") {
		t.Fatalf("want the HPA's 500 saying how to enable the function: %v %+v", err, qr)
	}
	t.Logf("PromQL %s\nerror %s", qr.Plan.PromQL, qr.Error)
	if !strings.Contains(qr.Plan.PromQL, config.DoubleExponentialSmoothing+"((") || !strings.Contains(qr.Error, "(PromQL: "+qr.Plan.PromQL+")") {
		t.Errorf("the printed PromQL is not the one the error is about:\nPromQL %s\nerror %s", qr.Plan.PromQL, qr.Error)
	}
}
