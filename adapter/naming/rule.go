package naming

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/prometheus/common/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/gatescale/gatescale/adapter/config"
)

// Rule is a compiled discovery rule: its regular expressions and templates
// are parsed once, when the configuration is loaded, and it is safe for
// concurrent use.
type Rule struct {
	// Path locates the rule in the file: rules[3] or externalRules[0].
	Path string
	// External is true for externalRules.
	External bool
	// SeriesQuery is the rule's discovery selector.
	SeriesQuery string
	// Config is the rule as written.
	Config config.DiscoveryRule
	// Resources maps the rule's labels to group-resources.
	Resources *Resources

	filters      []filter
	nameRe       *regexp.Regexp
	nameAs       string
	query        *template.Template // nil without metricsQuery
	replacements *strings.Replacer  // nil without labelValueReplacements
	namespaced   bool               // external: add the namespace matcher
}

type filter struct {
	re   *regexp.Regexp
	want bool
}

// Compile compiles a configuration's rules and external rules against a
// REST mapper (which normalizes the group-resources that overrides name).
// Errors carry the position of the offending field.
func Compile(cfg *config.Config, mapper apimeta.RESTMapper) (rules, external []*Rule, err error) {
	src := cfg.Source()
	for i, r := range cfg.Rules {
		c, err := CompileRule(r, fmt.Sprintf("rules[%d]", i), false, mapper, src)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, c)
	}
	for i, r := range cfg.ExternalRules {
		c, err := CompileRule(r, fmt.Sprintf("externalRules[%d]", i), true, mapper, src)
		if err != nil {
			return nil, nil, err
		}
		external = append(external, c)
	}
	return rules, external, nil
}

// CompileRule compiles one rule; path ("rules[0]") and src (may be nil)
// locate it for error messages.
func CompileRule(r config.DiscoveryRule, path string, external bool, mapper apimeta.RESTMapper, src *config.Source) (*Rule, error) {
	if src == nil {
		src = (&config.Config{}).Source()
	}
	c := &Rule{Path: path, External: external, SeriesQuery: r.SeriesQuery, Config: r, namespaced: !external || r.Resources.IsNamespaced()}
	res, err := NewResources(r.Resources, mapper, src, path+".resources")
	if err != nil {
		return nil, err
	}
	c.Resources = res
	for i, f := range r.SeriesFilters {
		expr, want, field := f.Is, true, "is"
		if expr == "" {
			expr, want, field = f.IsNot, false, "isNot"
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, src.Errorf(fmt.Sprintf("%s.seriesFilters[%d].%s", path, i, field), "invalid regular expression %q: %v", expr, err)
		}
		c.filters = append(c.filters, filter{re, want})
	}
	c.nameRe = regexp.MustCompile(".*")
	if r.Name.Matches != "" {
		if c.nameRe, err = regexp.Compile(r.Name.Matches); err != nil {
			return nil, src.Errorf(path+".name.matches", "invalid regular expression %q: %v", r.Name.Matches, err)
		}
		// name.matches is also a filter: a series it does not match has
		// no name, so the rule does not serve it.
		c.filters = append(c.filters, filter{c.nameRe, true})
	}
	c.nameAs = r.Name.As
	if c.nameAs == "" {
		switch c.nameRe.NumSubexp() {
		case 0:
			c.nameAs = "$0"
		case 1:
			c.nameAs = "$1"
		default:
			return nil, src.Errorf(path+".name", "name.matches %q has %d capture groups: say which to use with as", r.Name.Matches, c.nameRe.NumSubexp())
		}
	}
	if strings.TrimSpace(r.MetricsQuery) != "" {
		if c.query, err = config.NewQueryTemplate(r.MetricsQuery); err != nil {
			return nil, src.Errorf(path+".metricsQuery", "invalid template: %v", err)
		}
	}
	if len(r.LabelValueReplacements) > 0 {
		var pairs []string
		for _, p := range r.LabelValueReplacements {
			pairs = append(pairs, p.Find, p.Replace)
		}
		c.replacements = strings.NewReplacer(pairs...)
	}
	return c, nil
}

// Matches reports whether the rule serves a series of that name: it passes
// every seriesFilter and name.matches.
func (r *Rule) Matches(series string) bool {
	for _, f := range r.filters {
		if f.re.MatchString(series) != f.want {
			return false
		}
	}
	return true
}

// MetricName returns the API name of a series the rule serves (see
// Matches), e.g. http_requests_total → http_requests_per_second.
func (r *Rule) MetricName(series string) string {
	m := r.nameRe.FindStringSubmatchIndex(series)
	if m == nil {
		return ""
	}
	return string(r.nameRe.ExpandString(nil, r.nameAs, series, m))
}

// Namespaced reports, for an external rule, whether the HPA's namespace is
// added to its queries.
func (r *Rule) Namespaced() bool { return r.namespaced }

// String describes the rule for error messages.
func (r *Rule) String() string {
	s := fmt.Sprintf("%s (seriesQuery %s", r.Path, r.SeriesQuery)
	if r.Config.Name.Matches != "" || r.Config.Name.As != "" {
		s += fmt.Sprintf(", name %q as %q", r.nameRe.String(), r.nameAs)
	}
	return s + ")"
}

// ObjectQuery is what the HPA asks for one metric of some objects.
type ObjectQuery struct {
	// Series is the Prometheus series (metric) name.
	Series string
	// Resource is the normalized group-resource of the objects.
	Resource schema.GroupResource
	// Namespace is the objects' namespace; empty for root-scoped objects.
	Namespace string
	// Names are the objects' names (at least one, unless All).
	Names []string
	// All asks for every object that has the series (the resource label
	// is only required to be set), for callers that cannot list objects.
	All bool
	// MetricSelector narrows the series by their labels (may be nil).
	MetricSelector labels.Selector
	// ExtraGroupBy are labels to group by besides the resource's (e.g. the
	// container label of resource metrics).
	ExtraGroupBy []string
}

// Query renders the rule's metricsQuery for objects, as prometheus-adapter
// does: label matchers from the metric selector, then the namespace, then
// the objects' names; grouped by the resource's label. It also returns
// that label, by which the result's series are matched back to objects.
func (r *Rule) Query(q ObjectQuery) (promql, resourceLabel string, err error) {
	if r.query == nil {
		return "", "", fmt.Errorf("%s has no metricsQuery", r.Path)
	}
	if len(q.Names) == 0 && !q.All {
		return "", "", fmt.Errorf("no object names to query")
	}
	m, err := selectorMatchers(q.MetricSelector)
	if err != nil {
		return "", "", err
	}
	if q.Namespace != "" {
		nsLabel, err := r.Resources.LabelFor(Namespaces)
		if err != nil {
			return "", "", fmt.Errorf("%s: the objects are namespaced but %v", r.Path, err)
		}
		m.add(nsLabel, "=", q.Namespace, q.Namespace)
	}
	resourceLabel, err = r.Resources.LabelFor(q.Resource)
	if err != nil {
		return "", "", fmt.Errorf("%s: %v", r.Path, err)
	}
	names := append([]string(nil), q.Names...)
	sort.Strings(names)
	switch {
	case q.All:
		m.add(resourceLabel, "!=", "", "")
	case len(names) == 1:
		m.add(resourceLabel, "=", names[0], names[0])
	default:
		// Object names are literal; quote them so a dot matches only a dot.
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = regexp.QuoteMeta(n)
		}
		m.add(resourceLabel, "=~", strings.Join(quoted, "|"), strings.Join(names, "|"))
	}
	groupBy := append([]string{resourceLabel}, q.ExtraGroupBy...)
	promql, err = r.render(q.Series, m, groupBy, false)
	return promql, resourceLabel, err
}

// ExternalQuery renders the rule's metricsQuery for an external metric:
// matchers from the metric selector and, unless the rule says
// namespaced: false, the HPA's namespace; nothing to group by.
func (r *Rule) ExternalQuery(series, namespace string, metricSelector labels.Selector) (string, error) {
	if r.query == nil {
		return "", fmt.Errorf("%s has no metricsQuery", r.Path)
	}
	m, err := selectorMatchers(metricSelector)
	if err != nil {
		return "", err
	}
	if namespace != "" && r.namespaced {
		nsLabel, err := r.Resources.LabelFor(Namespaces)
		if err != nil {
			// An external rule without a namespace mapping still scopes
			// to the HPA's namespace, by the label Prometheus's Kubernetes
			// discovery uses; say namespaced: false to query across
			// namespaces.
			nsLabel = "namespace"
		}
		m.add(nsLabel, "=", namespace, namespace)
	}
	return r.render(series, m, nil, true)
}

func (r *Rule) render(series string, m *matchers, groupBy []string, external bool) (string, error) {
	values := m.values
	if external && r.replacements != nil {
		values = make(map[string]string, len(m.values))
		for k, v := range m.values {
			values[k] = r.replacements.Replace(v)
		}
	}
	args := config.QueryTemplateArgs{
		Series:            series,
		LabelMatchers:     strings.Join(m.exprs, ","),
		LabelValuesByName: values,
		GroupBy:           strings.Join(groupBy, ","),
		GroupBySlice:      groupBy,
	}
	var buf bytes.Buffer
	if err := r.query.Execute(&buf, args); err != nil {
		return "", fmt.Errorf("%s: metricsQuery: %v", r.Path, err)
	}
	if strings.TrimSpace(buf.String()) == "" {
		return "", fmt.Errorf("%s: metricsQuery gives an empty query", r.Path)
	}
	return buf.String(), nil
}

type matchers struct {
	exprs  []string
	values map[string]string
}

func (m *matchers) add(label, op, value, raw string) {
	m.exprs = append(m.exprs, label+op+strconv.Quote(value))
	m.values[label] = raw
}

// ErrMetricSelector is matched (errors.Is) by the errors of a metric
// selector that has no PromQL equivalent: the request is at fault, not
// the rule.
var ErrMetricSelector = errors.New("metric selector has no PromQL equivalent")

type selectorError struct{ msg string }

func (e *selectorError) Error() string        { return e.msg }
func (e *selectorError) Is(target error) bool { return target == ErrMetricSelector }

// selectorMatchers turns a Kubernetes label selector into PromQL label
// matchers. Several values become a regular expression alternation, as in
// prometheus-adapter, which also lets a single In value pass a regular
// expression through. Gt and Lt have no PromQL matcher and are refused
// rather than dropped: a query that silently ignored part of the selector
// could drive a scaling decision on the wrong series.
func selectorMatchers(sel labels.Selector) (*matchers, error) {
	m := &matchers{values: map[string]string{}}
	if sel == nil {
		return m, nil
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, &selectorError{fmt.Sprintf("metric selector %q selects nothing", sel.String())}
	}
	for _, req := range reqs {
		key, vals := req.Key(), req.Values().List()
		// Kubernetes keys may hold '.', '/' and '-'; PromQL would refuse
		// the query, which the caller would see as our fault (a 500).
		if !model.LegacyValidation.IsValidLabelName(key) {
			return nil, &selectorError{fmt.Sprintf("metric selector %q: key %q is not a Prometheus label name", sel.String(), key)}
		}
		joined := strings.Join(vals, "|")
		switch op := req.Operator(); op {
		case selection.Equals, selection.DoubleEquals:
			m.add(key, "=", joined, joined)
		case selection.NotEquals:
			m.add(key, "!=", joined, joined)
		case selection.In:
			m.add(key, "=~", joined, joined)
		case selection.NotIn:
			m.add(key, "!~", joined, joined)
		case selection.Exists:
			m.add(key, "!=", "", "")
		case selection.DoesNotExist:
			m.add(key, "=", "", "")
		default:
			return nil, &selectorError{fmt.Sprintf("metric selector %q: operator %q has no PromQL equivalent", sel.String(), op)}
		}
	}
	return m, nil
}
