package config

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/gatescale/gatescale/internal/yamldoc"
)

// QueryTemplateArgs are what a metricsQuery template sees. The field names
// are prometheus-adapter's, so its templates work unchanged.
type QueryTemplateArgs struct {
	// Series is the series (Prometheus metric) name.
	Series string
	// LabelMatchers are the label matchers selecting the requested
	// objects, comma-separated: pod=~"a|b",namespace="default".
	LabelMatchers string
	// LabelValuesByName maps each matched label to its value(s), joined
	// by | for use with =~.
	LabelValuesByName map[string]string
	// GroupBy is the comma-separated list of labels to group by: the
	// label of the requested resource (empty for external metrics).
	GroupBy string
	// GroupBySlice is GroupBy as a slice.
	GroupBySlice []string
}

// ResourceTemplateArgs are what a resources.template sees.
type ResourceTemplateArgs struct {
	// Group is the API group with dots replaced by underscores.
	Group string
	// Resource is the singular resource name.
	Resource string
}

// NewQueryTemplate parses a metricsQuery template with the << >> delimiters.
func NewQueryTemplate(text string) (*template.Template, error) {
	return template.New("metricsQuery").Delims("<<", ">>").Option("missingkey=zero").Parse(text)
}

// NewResourceTemplate parses a resources.template with the << >> delimiters.
func NewResourceTemplate(text string) (*template.Template, error) {
	return template.New("resources.template").Delims("<<", ">>").Parse(text)
}

func (c *Config) validate() []*Error {
	v := &validator{src: c.source}
	defer func() { yamldoc.SortByPos(v.warnings); c.warnings = v.warnings }()
	for i := range c.Rules {
		v.rule(fmt.Sprintf("rules[%d]", i), &c.Rules[i], false)
	}
	for i := range c.ExternalRules {
		v.rule(fmt.Sprintf("externalRules[%d]", i), &c.ExternalRules[i], true)
	}
	if c.ResourceRules != nil {
		v.resourceRules("resourceRules", c.ResourceRules)
	}
	for i := range c.Forecasts {
		v.forecast(fmt.Sprintf("forecasts[%d]", i), &c.Forecasts[i])
	}
	switch c.Discovery.Mode {
	case "", ModeFull, ModeCompact:
	default:
		v.errorf("discovery.mode", "unknown mode %q: want %q or %q", c.Discovery.Mode, ModeFull, ModeCompact)
	}
	return v.errs
}

type validator struct {
	src            *Source
	errs, warnings []*Error
}

func (v *validator) warnf(path, format string, args ...any) {
	v.warnings = append(v.warnings, v.src.Errorf(path, format, args...))
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, v.src.Errorf(path, format, args...))
}

func (v *validator) rule(p string, r *DiscoveryRule, external bool) {
	if strings.TrimSpace(r.SeriesQuery) == "" {
		v.errorf(p+".seriesQuery", "seriesQuery is required: a series selector such as '{__name__=~\"^http_.*\",namespace!=\"\"}'")
	} else if err := checkSelector(r.SeriesQuery); err != nil {
		v.errorf(p+".seriesQuery", "%v", err)
	}
	for i, f := range r.SeriesFilters {
		fp := fmt.Sprintf("%s.seriesFilters[%d]", p, i)
		switch {
		case f.Is != "" && f.IsNot != "":
			v.errorf(fp, "a filter has either is or isNot, not both")
		case f.Is == "" && f.IsNot == "":
			v.errorf(fp, "a filter needs is or isNot")
		case f.Is != "":
			v.regex(fp+".is", f.Is)
		default:
			v.regex(fp+".isNot", f.IsNot)
		}
	}
	v.nameMapping(p+".name", r.Name)
	v.resourceMapping(p+".resources", r.Resources, external)
	if strings.TrimSpace(r.MetricsQuery) == "" {
		// prometheus-adapter loads such a rule and fails each query; we
		// load it too (a migrated file must load) but warn now and say the
		// same again when the metric is queried.
		v.warnf(p+".metricsQuery", "no metricsQuery: the metrics of this rule cannot be queried; add e.g. 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'")
	} else {
		v.queryTemplate(p+".metricsQuery", r.MetricsQuery)
	}
}

// checkSelector catches selectors Prometheus would refuse for reasons
// visible without a PromQL parser: unbalanced braces or quotes.
func checkSelector(s string) error {
	depth, inQuote := 0, byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inQuote != 0:
			// Backtick strings are raw in PromQL: a backslash escapes
			// nothing there.
			if ch == '\\' && inQuote != '`' {
				i++
			} else if ch == inQuote {
				inQuote = 0
			}
		case ch == '"' || ch == '\'' || ch == '`':
			inQuote = ch
		case ch == '{':
			depth++
		case ch == '}':
			depth--
			if depth < 0 {
				return fmt.Errorf("series selector %q has an unmatched }", s)
			}
		}
	}
	if inQuote != 0 {
		return fmt.Errorf("series selector %q has an unterminated string", s)
	}
	if depth != 0 {
		return fmt.Errorf("series selector %q has an unmatched {", s)
	}
	return nil
}

func (v *validator) regex(path, re string) *regexp.Regexp {
	c, err := regexp.Compile(re)
	if err != nil {
		v.errorf(path, "invalid regular expression %q: %v", re, err)
		return nil
	}
	return c
}

func (v *validator) nameMapping(p string, n NameMapping) {
	re := regexp.MustCompile(".*")
	if n.Matches != "" {
		if re = v.regex(p+".matches", n.Matches); re == nil {
			return
		}
	}
	if n.As == "" && re.NumSubexp() > 1 {
		v.errorf(p, "name.matches %q has %d capture groups: say which to use with as (e.g. \"${1}_per_second\")", n.Matches, re.NumSubexp())
	}
}

func (v *validator) resourceMapping(p string, m ResourceMapping, external bool) {
	if m.Template != "" {
		v.resourceTemplate(p+".template", m.Template)
	}
	labels := make([]string, 0, len(m.Overrides))
	for l := range m.Overrides {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		gr := m.Overrides[l]
		lp := yamldoc.Join(p+".overrides", l)
		if !validLabelName(l) {
			v.errorf(lp, "%q is not a valid Prometheus label name", l)
		}
		if strings.TrimSpace(gr.Resource) == "" {
			v.errorf(lp, "the override for label %q needs a resource, e.g. {resource: pod} or {group: apps, resource: deployment}", l)
		}
	}
	if m.Namespaced != nil && !external {
		// prometheus-adapter accepts and ignores it on rules; so do we,
		// but say so rather than let someone believe it does something.
		v.warnf(p+".namespaced", "namespaced applies to externalRules only; ignored here")
	}
}

// validLabelName accepts the classic label charset, which is what a label
// used as a resource (and in a template) must be.
func validLabelName(l string) bool {
	if l == "" {
		return false
	}
	for i, ch := range l {
		ok := ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (i > 0 && ch >= '0' && ch <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func (v *validator) resourceTemplate(p, text string) {
	t, err := NewResourceTemplate(text)
	if err != nil {
		v.errorf(p, "invalid template: %v", err)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, ResourceTemplateArgs{Group: "(?P<group>.+?)", Resource: "(?P<resource>.+?)"}); err != nil {
		v.errorf(p, "invalid template: %v", err)
		return
	}
	re, err := regexp.Compile("^" + buf.String() + "$")
	if err != nil {
		v.errorf(p, "template %q cannot be matched against labels: %v", text, err)
		return
	}
	hasResource := false
	for _, n := range re.SubexpNames() {
		hasResource = hasResource || n == "resource"
	}
	if !hasResource {
		v.errorf(p, "template %q must contain <<.Resource>>", text)
	}
}

func (v *validator) queryTemplate(p, text string) {
	t, err := NewQueryTemplate(text)
	if err != nil {
		v.errorf(p, "invalid template: %v", err)
		return
	}
	args := QueryTemplateArgs{Series: "s", LabelMatchers: `a="b"`, LabelValuesByName: map[string]string{"a": "b"}, GroupBy: "a", GroupBySlice: []string{"a"}}
	var buf bytes.Buffer
	if err := t.Execute(&buf, args); err != nil {
		v.errorf(p, "template cannot be executed: %v (it sees .Series, .LabelMatchers, .GroupBy, .LabelValuesByName and .GroupBySlice)", err)
	}
}

func (v *validator) resourceRules(p string, rr *ResourceRules) {
	for _, r := range []struct {
		name string
		rule *ResourceRule
	}{{"cpu", &rr.CPU}, {"memory", &rr.Memory}} {
		rp := p + "." + r.name
		if strings.TrimSpace(r.rule.ContainerQuery) == "" {
			v.errorf(rp+".containerQuery", "containerQuery is required")
		} else {
			v.queryTemplate(rp+".containerQuery", r.rule.ContainerQuery)
		}
		if strings.TrimSpace(r.rule.NodeQuery) == "" {
			v.errorf(rp+".nodeQuery", "nodeQuery is required")
		} else {
			v.queryTemplate(rp+".nodeQuery", r.rule.NodeQuery)
		}
		if r.rule.ContainerLabel == "" {
			v.errorf(rp+".containerLabel", "containerLabel is required: the label holding the container name (usually container)")
		}
		v.resourceMapping(rp+".resources", r.rule.Resources, false)
	}
	if rr.Window == 0 {
		// prometheus-adapter loads such a section and reports a zero
		// window in metrics.k8s.io answers; a migrated file must load.
		v.warnf(p+".window", "no window: metrics.k8s.io answers will report a window of 0s; set it to the range used by the queries, e.g. 5m")
	}
}

func (v *validator) forecast(p string, f *Forecast) {
	if f.Matches == "" {
		v.errorf(p+".matches", "matches is required: a regular expression over metric names, e.g. ^gatescale_requests_per_second$")
	} else {
		v.regex(p+".matches", "^(?:"+f.Matches+")$")
	}
	if len(f.Horizons) == 0 {
		v.errorf(p+".horizons", "at least one horizon is required, e.g. [60s]")
	}
	seen := map[Duration]bool{}
	for i, h := range f.Horizons {
		hp := fmt.Sprintf("%s.horizons[%d]", p, i)
		switch {
		case h <= 0:
			v.errorf(hp, "a horizon must be positive")
		case h.Std()%time.Second != 0:
			v.errorf(hp, "a horizon must be whole seconds (it becomes part of the metric name)")
		case seen[h]:
			v.errorf(hp, "horizon %s is listed twice", h)
		}
		seen[h] = true
	}
	window, step := f.WindowOrDefault(), f.StepOrDefault()
	if f.Window < 0 {
		v.errorf(p+".window", "window must be positive")
	}
	if f.Step < 0 {
		v.errorf(p+".step", "step must be positive")
	}
	if step >= window {
		v.errorf(p+".step", "step (%s) must be shorter than window (%s): the fit needs several points", Duration(step), Duration(window))
	}
	switch f.Method {
	case "", PredictLinear:
	case HoltWinters, DoubleExponentialSmoothing:
		for _, x := range []struct {
			name string
			val  float64
		}{{"smoothing", f.Smoothing}, {"trend", f.Trend}} {
			if x.val != 0 && (x.val <= 0 || x.val >= 1) {
				v.errorf(p+"."+x.name, "%s must be between 0 and 1 (exclusive), got %g", x.name, x.val)
			}
		}
	default:
		v.errorf(p+".method", "unknown method %q: want %s, %s or %s (the same method as %s)", f.Method, PredictLinear, HoltWinters, DoubleExponentialSmoothing, HoltWinters)
	}
}

// WindowOrDefault returns the forecast window, 2m by default.
func (f *Forecast) WindowOrDefault() time.Duration {
	if f.Window <= 0 {
		return 2 * time.Minute
	}
	return f.Window.Std()
}

// StepOrDefault returns the forecast step, 10s by default.
func (f *Forecast) StepOrDefault() time.Duration {
	if f.Step <= 0 {
		return 10 * time.Second
	}
	return f.Step.Std()
}

// MethodOrDefault returns the forecast method, predict_linear by default.
func (f *Forecast) MethodOrDefault() string {
	if f.Method == "" {
		return PredictLinear
	}
	return f.Method
}

// Smooths reports whether the method is double exponential smoothing
// (holt_winters, or its Prometheus 3 name).
func (f *Forecast) Smooths() bool {
	return f.Method == HoltWinters || f.Method == DoubleExponentialSmoothing
}

// Factors returns the smoothing method's smoothing and trend factors, 0.5
// by default.
func (f *Forecast) Factors() (smoothing, trend float64) {
	smoothing, trend = f.Smoothing, f.Trend
	if smoothing == 0 {
		smoothing = 0.5
	}
	if trend == 0 {
		trend = 0.5
	}
	return smoothing, trend
}
