package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseHelmDefaultRules(t *testing.T) {
	cfg, err := Load("testdata/helm-default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Rules); got != 6 {
		t.Fatalf("rules: got %d, want 6", got)
	}
	r := cfg.Rules[1]
	if r.SeriesQuery != `{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}` {
		t.Errorf("seriesQuery: %q", r.SeriesQuery)
	}
	if len(r.SeriesFilters) != 1 || r.SeriesFilters[0].IsNot != "^container_.*_seconds_total$" {
		t.Errorf("seriesFilters: %+v", r.SeriesFilters)
	}
	if r.Resources.Overrides["pod"].Resource != "pod" || r.Resources.Overrides["namespace"].Resource != "namespace" {
		t.Errorf("overrides: %+v", r.Resources.Overrides)
	}
	// A plain scalar continued on the next line is folded with a space.
	if want := `sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)`; r.MetricsQuery != want {
		t.Errorf("metricsQuery: got %q, want %q", r.MetricsQuery, want)
	}
	if cfg.Rules[3].Resources.Template != "<<.Resource>>" || cfg.Rules[3].Name.Matches != "" {
		t.Errorf("rule 3: %+v", cfg.Rules[3])
	}
	rr := cfg.ResourceRules
	if rr == nil || rr.Window.Std() != 5*time.Minute || rr.CPU.ContainerLabel != "container" || !strings.Contains(rr.Memory.NodeQuery, "node_memory_working_set_bytes") {
		t.Fatalf("resourceRules: %+v", rr)
	}
	if len(cfg.Warnings()) != 0 {
		t.Errorf("unexpected warnings: %v", cfg.Warnings())
	}
}

func TestParseWalkthroughAndExternal(t *testing.T) {
	cfg, err := Load("testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rules[0].Name.As != "${1}_per_second" || cfg.Rules[0].Resources.Overrides["kubernetes_pod_name"].Resource != "pod" {
		t.Errorf("rule: %+v", cfg.Rules[0])
	}
	if len(cfg.ExternalRules) != 2 {
		t.Fatalf("externalRules: %d", len(cfg.ExternalRules))
	}
	if !cfg.ExternalRules[0].Resources.IsNamespaced() || cfg.ExternalRules[1].Resources.IsNamespaced() {
		t.Errorf("namespaced: %v %v", cfg.ExternalRules[0].Resources.IsNamespaced(), cfg.ExternalRules[1].Resources.IsNamespaced())
	}
	if cfg.DiscoveryMode() != ModeFull || cfg.DiscoveryLookback() != 10*time.Minute {
		t.Errorf("discovery defaults: %s %s", cfg.DiscoveryMode(), cfg.DiscoveryLookback())
	}
}

func TestParseEmpty(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "---\n"} {
		cfg, err := Parse("empty.yaml", []byte(doc))
		if err != nil || len(cfg.Rules) != 0 {
			t.Errorf("%q: cfg %+v, err %v", doc, cfg, err)
		}
	}
}

func TestParseGatescaleSections(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
rules: []
forecasts:
- matches: gatescale_requests_per_second
  horizons: [60s, 2m]
  window: 3m
  step: 5s
  method: holt_winters
  smoothing: 0.3
  floorAtCurrent: true
discovery:
  mode: compact
  lookback: 1m30s
`))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Forecasts[0]
	if len(f.Horizons) != 2 || f.Horizons[1].Std() != 2*time.Minute || f.WindowOrDefault() != 3*time.Minute || f.StepOrDefault() != 5*time.Second || !f.FloorAtCurrent {
		t.Errorf("forecast: %+v", f)
	}
	if s, tr := f.Factors(); s != 0.3 || tr != 0.5 {
		t.Errorf("factors: %v %v", s, tr)
	}
	if !f.Smooths() {
		t.Errorf("holt_winters: Smooths() is false")
	}
	if cfg.DiscoveryMode() != ModeCompact || cfg.DiscoveryLookback() != 90*time.Second {
		t.Errorf("discovery: %+v", cfg.Discovery)
	}
}

// Prometheus 3's name for holt_winters is accepted as the same method.
func TestParseDoubleExponentialSmoothing(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
forecasts:
- matches: x
  horizons: [1m]
  method: double_exponential_smoothing
  trend: 0.2
`))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Forecasts[0]
	if s, tr := f.Factors(); !f.Smooths() || f.MethodOrDefault() != DoubleExponentialSmoothing || s != 0.5 || tr != 0.2 {
		t.Errorf("forecast %+v: Smooths %v, factors %v %v", f, f.Smooths(), s, tr)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // each must appear in the error
	}{
		{"unknown field (prometheus-adapter refuses it too)", `
rules:
- seriesQuery: 'cheddar{sharp="true"}'
  metricQuery: 'count(cheddar)'
`, []string{`f.yaml:4:3: rules[0].metricQuery: unknown key (did you mean metricsQuery?)`}},
		{"not YAML", "rules:\n- seriesQuery: x\n  resources:\n    overrides:\n      namespace: {resource: \"namespace\"},\n",
			[]string{"f.yaml:5:"}},
		{"wrong type", "rules: 3\n", []string{"f.yaml:1:8: rules: expected a list, got 3"}},
		{"top level not a mapping", "- a\n- b\n", []string{"f.yaml:1:1", "expected a mapping"}},
		{"bad regexes and filters", `
rules:
- seriesQuery: '{__name__=~"x"}'
  seriesFilters:
  - is: a
    isNot: b
  - {}
  - isNot: '(['
  name: {matches: '(x'}
  metricsQuery: x
`, []string{
			"f.yaml:5:5: rules[0].seriesFilters[0]: a filter has either is or isNot, not both",
			"f.yaml:7:5: rules[0].seriesFilters[1]: a filter needs is or isNot",
			"f.yaml:8:12: rules[0].seriesFilters[2].isNot: invalid regular expression",
			"f.yaml:9:19: rules[0].name.matches: invalid regular expression",
		}},
		{"templates", `
externalRules:
- seriesQuery: '{__name__="x"'
  resources:
    template: 'kube_<<.Group>>'
    overrides:
      "bad-label": {resource: pod}
      ok: {group: apps}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatcher>>})'
`, []string{
			"f.yaml:3:16: externalRules[0].seriesQuery: series selector",
			"unmatched {",
			"f.yaml:5:15: externalRules[0].resources.template: template \"kube_<<.Group>>\" must contain <<.Resource>>",
			"externalRules[0].resources.overrides.bad-label: \"bad-label\" is not a valid Prometheus label name",
			"externalRules[0].resources.overrides.ok: the override for label \"ok\" needs a resource",
			"f.yaml:9:17: externalRules[0].metricsQuery: template cannot be executed",
		}},
		{"resource rules", `
resourceRules:
  cpu:
    containerQuery: 'sum(x{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
  window: 5 minutes
`, []string{"f.yaml:5:11", "invalid duration \"5 minutes\""}},
		{"resource rules required fields", `
resourceRules:
  cpu:
    containerQuery: 'sum(x{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`, []string{
			"resourceRules.cpu.nodeQuery: nodeQuery is required",
			"resourceRules.cpu.containerLabel: containerLabel is required",
			"resourceRules.memory.containerQuery: containerQuery is required",
		}},
		{"forecasts and discovery", `
forecasts:
- matches: '('
  horizons: [0s, 1500ms]
  step: 5m
  method: arima
- matches: x
  horizons: [1m, 60s]
  method: holt_winters
  trend: 1.5
discovery:
  mode: lazy
`, []string{
			"forecasts[0].matches: invalid regular expression",
			"forecasts[0].horizons[0]: a horizon must be positive",
			"forecasts[0].horizons[1]: a horizon must be whole seconds",
			"forecasts[0].step: step (5m) must be shorter than window (2m)",
			"forecasts[0].method: unknown method \"arima\"",
			"forecasts[1].horizons[1]: horizon 1m is listed twice",
			"forecasts[1].trend: trend must be between 0 and 1",
			"f.yaml:12:9: discovery.mode: unknown mode \"lazy\"",
		}},
		{"smoothing method under either name", `
forecasts:
- matches: x
  horizons: [1m]
  method: double_exponential_smoothing
  smoothing: 0
  trend: 1
- matches: y
  horizons: [1m]
  method: holt-winters
`, []string{
			"f.yaml:7:10: forecasts[0].trend: trend must be between 0 and 1",
			`f.yaml:10:11: forecasts[1].method: unknown method "holt-winters": want predict_linear, holt_winters or double_exponential_smoothing`,
		}},
		{"two documents", "rules: []\n---\nrules: []\n", []string{"only one YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	cfg, err := Parse("w.yaml", []byte(`
rules:
- seriesQuery: '{__name__="x",namespace!=""}'
  resources:
    namespaced: false
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		"w.yaml:3:3: rules[0].metricsQuery: no metricsQuery",
		"w.yaml:5:17: rules[0].resources.namespaced: namespaced applies to externalRules only",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings: %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d: got %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestPresetRateWindow(t *testing.T) {
	cfg := GatewayPreset(30 * time.Second)
	if !strings.Contains(cfg.Rules[0].MetricsQuery, "[30s]") || !strings.Contains(cfg.ExternalRules[0].MetricsQuery, "[30s]") {
		t.Errorf("rate window not applied: %q", cfg.Rules[0].MetricsQuery)
	}
	if cfg.Rules[1].Name.As != GatewayRequestDurationP99 || cfg.Rules[2].Name.As != GatewayRequestDurationP99 {
		t.Errorf("p99 rules: %+v", cfg.Rules[1:])
	}
	if cfg.Source().Name != "<gateway preset>" {
		t.Errorf("source name %q", cfg.Source().Name)
	}
}

func TestSourcePositions(t *testing.T) {
	data, err := os.ReadFile("testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("w.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	src := cfg.Source()
	if p := src.Pos("rules[0].resources.overrides.kubernetes_pod_name"); p.Line != 9 {
		t.Errorf("override value position: %+v", p)
	}
	if p := src.KeyPos("rules[0].name.as"); p.Line != 12 || p.Column != 5 {
		t.Errorf("key position: %+v", p)
	}
	// A path without its own entry falls back to its parent.
	if p := src.Pos("rules[0].resources.overrides.kubernetes_pod_name.group"); p.Line != 9 {
		t.Errorf("fallback position: %+v", p)
	}
	if e := src.Errorf("externalRules[1].resources.namespaced", "x"); e.Error() != "w.yaml:22:17: externalRules[1].resources.namespaced: x" {
		t.Errorf("Errorf: %q", e.Error())
	}
}

// The adapter reads its files with the gateway's YAML rules (package
// internal/yamldoc): a depth limit, every bad rule reported, and what
// prometheus-adapter accepts (anchors, merge keys) still accepted.
func TestParseSharedYAMLRules(t *testing.T) {
	deep := "rules: " + strings.Repeat("[", 80) + strings.Repeat("]", 80) + "\n"
	if _, err := Parse("d.yaml", []byte(deep)); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep: %v", err)
	}
	_, err := Parse("f.yaml", []byte(`
rules:
- seriesQuery: '{__name__="a"}'
  seriesFilters: [{is: x, isnot: y}]
- seriesQuery: '{__name__="b"}'
  resources: {overrides: {pod: {resource: pod, grup: apps}}}
`))
	for _, want := range []string{
		"f.yaml:4:27: rules[0].seriesFilters[0].isnot: unknown key (did you mean isNot?)",
		"f.yaml:6:48: rules[1].resources.overrides.pod.grup: unknown key (did you mean group?)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	cfg, err := Parse("m.yaml", []byte(`
rules:
- &r
  seriesQuery: '{__name__="a",namespace!=""}'
  resources: {overrides: {<<: {namespace: {resource: namespace}}, pod: {resource: pod}}}
  metricsQuery: x
- <<: *r
  seriesQuery: '{__name__="b",namespace!=""}'
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Rules[1]; r.SeriesQuery != `{__name__="b",namespace!=""}` || r.Resources.Overrides["namespace"].Resource != "namespace" || r.MetricsQuery != "x" {
		t.Errorf("merged rule: %+v", r)
	}
}

// prometheus-adapter loads resourceRules without a window and reports a
// zero window in metrics.k8s.io answers; a migrated file must load here
// too, with a warning saying what will be reported.
func TestResourceRulesWithoutWindow(t *testing.T) {
	cfg, err := Parse("w.yaml", []byte(`
resourceRules:
  cpu:
    containerQuery: 'sum(rate(c{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
    nodeQuery: 'sum(rate(n{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
    containerLabel: container
  memory:
    containerQuery: 'sum(m{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
    nodeQuery: 'sum(nm{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
    containerLabel: container
`))
	if err != nil {
		t.Fatalf("a resourceRules section without window must load as in prometheus-adapter: %v", err)
	}
	if cfg.ResourceRules == nil || cfg.ResourceRules.Window != 0 {
		t.Fatalf("resourceRules: %+v", cfg.ResourceRules)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	if len(got) != 1 || !strings.Contains(got[0], "resourceRules.window: no window") {
		t.Fatalf("warnings: got %q, want one about resourceRules.window", got)
	}
}

// In PromQL a backtick string is raw: a backslash in it escapes nothing,
// so `\` is a complete string holding one backslash.
func TestCheckSelectorRawString(t *testing.T) {
	for _, s := range []string{
		"{__name__=~\"x_.*\",path=~`C:\\`}",
		"{path=`\\`,namespace!=\"\"}",
		`{path="a\"b",namespace!=""}`,
	} {
		if err := checkSelector(s); err != nil {
			t.Errorf("checkSelector(%s): %v", s, err)
		}
	}
	for _, s := range []string{
		`{path="a\"}`,
		"{path=`a}",
	} {
		if err := checkSelector(s); err == nil {
			t.Errorf("checkSelector(%s): no error for an unterminated string", s)
		}
	}
}
