package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/gateway/reload"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, config.GatewayPresetYAML(0), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"validate", "--config", good}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "good.yaml: ok (3 rules, 1 external rules, resource rules: false, 0 forecasts)") {
		t.Errorf("output: %s", out.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n- seriesQuery: x\n  metricQuery: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"validate", "--config", bad}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3:3: rules[0].metricQuery: unknown key (did you mean metricsQuery?)") {
		t.Errorf("bad file: %v", err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("rules:\n- seriesQuery: x\n  resources: {overrides: {svc: {resource: servise}}}\n  metricsQuery: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"validate", "--config", unknown}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown.yaml:3:32: rules[0].resources.overrides.svc: label "svc" maps to servise, which the cluster does not serve`) {
		t.Errorf("unknown resource: %v", err)
	}
}

func TestPresetAndUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"preset", "--rate-window", "30s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("preset", out.Bytes())
	if err != nil || !strings.Contains(cfg.Rules[0].MetricsQuery, "[30s]") {
		t.Errorf("preset: %v %v", cfg, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "gatescale-adapter query") {
		t.Errorf("usage: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"--no-such-flag"}, io.Discard, io.Discard); err == nil {
		t.Errorf("unknown flag accepted")
	}
}

const ruleFor = `
rules:
- seriesQuery: '{__name__=%q,namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

type reloadFixture struct {
	t    *testing.T
	path string
	a    *adapter
}

// startReload runs an adapter on a rules file served by a real Prometheus
// holding app_a, app_b and app_c for one pod.
func startReload(t *testing.T, poll string) *reloadFixture {
	p := promtest.Start(t, promtest.Options{})
	addr := promtest.ServeMetrics(t, func(w io.Writer) { fmt.Fprint(w, "app_a 1\napp_b 2\napp_c 3\n") })
	p.SetTargets(t, promtest.Target{Addr: addr, Labels: map[string]string{"namespace": "ns", "pod": "p"}})
	p.WaitFor(t, "app_a", 1, 20*time.Second)
	f := &reloadFixture{t: t, path: filepath.Join(t.TempDir(), "rules.yaml")}
	f.write(fmt.Sprintf(ruleFor, "app_a"))
	f.a, _ = startAdapter(t, nil, "--prometheus-url", p.URL, "--config", f.path, "--config-poll-interval", poll)
	f.waitFor("app_a")
	return f
}

// write replaces the file by a rename, as a ConfigMap update does.
func (f *reloadFixture) write(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.path+".tmp", []byte(s), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		f.t.Fatal(err)
	}
}

func (f *reloadFixture) served() string {
	var names []string
	for _, m := range f.a.provider.ListAllMetrics() {
		if m.GroupResource == (schema.GroupResource{Resource: "pods"}) {
			names = append(names, m.Metric)
		}
	}
	return strings.Join(names, ",")
}

func (f *reloadFixture) waitFor(want string) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.served() != want {
		if time.Now().After(deadline) {
			f.t.Fatalf("served %q, want %q", f.served(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A changed file is reloaded; a bad one is refused and the configuration
// in force stays.
func TestConfigReloadOnChange(t *testing.T) {
	f := startReload(t, "100ms")
	f.write("rules:\n- seriesQuery: '{__name__=\"app_b\"}'\n  metricQuery: x\n")
	time.Sleep(500 * time.Millisecond)
	if f.served() != "app_a" || f.a.provider.Config().Source().Name != f.path {
		t.Errorf("a bad file replaced the configuration: %q", f.served())
	}
	f.write(fmt.Sprintf(ruleFor, "app_b"))
	f.waitFor("app_b")

	// The revision in force and the refusal are on the adapter's /metrics.
	rev := reload.Revision([]byte(fmt.Sprintf(ruleFor, "app_b")))
	var info, refused float64
	mfs, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case mf.GetName() == "gatescale_adapter_config_revision_info" && m.GetLabel()[0].GetValue() == rev:
				info = m.GetGauge().GetValue()
			case mf.GetName() == "gatescale_adapter_config_reloads_total" && m.GetLabel()[0].GetValue() == "error":
				refused = m.GetCounter().GetValue()
			}
		}
	}
	if info != 1 || refused < 1 {
		t.Errorf("gatescale_adapter_config_revision_info{revision=%q} = %v, reloads_total{result=\"error\"} = %v", rev, info, refused)
	}
}

// SIGHUP reloads at once, whatever the poll interval.
func TestConfigReloadOnSIGHUP(t *testing.T) {
	f := startReload(t, "1h")
	<-f.a.watching
	f.write(fmt.Sprintf(ruleFor, "app_c"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	f.waitFor("app_c")
}
