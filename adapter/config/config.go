package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/prometheus/common/model"
)

// Config is a metrics discovery configuration: prometheus-adapter's
// MetricsDiscoveryConfig (rules, externalRules, resourceRules) field for
// field, plus gatescale's own sections (forecasts, discovery), which
// prometheus-adapter does not know and which are all optional.
type Config struct {
	// Rules map Prometheus series to metrics of Kubernetes objects
	// (custom.metrics.k8s.io).
	Rules []DiscoveryRule `yaml:"rules"`
	// ResourceRules, when set, serve CPU and memory of pods and nodes
	// (metrics.k8s.io).
	ResourceRules *ResourceRules `yaml:"resourceRules,omitempty"`
	// ExternalRules map Prometheus series to metrics not tied to an object
	// (external.metrics.k8s.io).
	ExternalRules []DiscoveryRule `yaml:"externalRules,omitempty"`

	// Forecasts (gatescale) serve, next to a metric, its value predicted a
	// horizon ahead, as <metric>_forecast_<seconds>s.
	Forecasts []Forecast `yaml:"forecasts,omitempty"`
	// Discovery (gatescale) tunes series discovery.
	Discovery Discovery `yaml:"discovery,omitempty"`

	// source records where each value came from, for error messages of
	// later stages (a rule that names an unknown resource, say).
	source   *Source
	warnings []*Error
}

// Warnings returns what Parse accepted but finds suspicious (a rule
// without metricsQuery, a setting that has no effect where it is), each
// with its position.
func (c *Config) Warnings() []*Error { return c.warnings }

// DiscoveryRule is one rule: which series to discover (SeriesQuery,
// SeriesFilters), which objects they belong to (Resources), what the metric
// is called in the API (Name) and how to query it (MetricsQuery).
type DiscoveryRule struct {
	// SeriesQuery is a Prometheus series selector, as sent to
	// /api/v1/series, e.g. `{__name__=~"^http_.*",namespace!=""}`.
	SeriesQuery string `yaml:"seriesQuery"`
	// SeriesFilters further filter series by name; all must match.
	SeriesFilters []RegexFilter `yaml:"seriesFilters"`
	// Resources says which labels name Kubernetes objects.
	Resources ResourceMapping `yaml:"resources"`
	// Name maps series names to API metric names.
	Name NameMapping `yaml:"name"`
	// MetricsQuery is a Go template (delimiters << >>) producing the PromQL
	// to run; it sees .Series, .LabelMatchers, .GroupBy,
	// .LabelValuesByName and .GroupBySlice.
	MetricsQuery string `yaml:"metricsQuery,omitempty"`
	// LabelValueReplacements are find/replace pairs applied to label values
	// in LabelValuesByName (external rules), for values Kubernetes cannot
	// carry.
	LabelValueReplacements []LabelValueReplacement `yaml:"labelValueReplacements,omitempty"`
}

// LabelValueReplacement is one find/replace pair.
type LabelValueReplacement struct {
	Find    string `yaml:"find,omitempty"`
	Replace string `yaml:"replace,omitempty"`
}

// RegexFilter keeps series whose name matches Is, or does not match IsNot;
// exactly one is set.
type RegexFilter struct {
	Is    string `yaml:"is,omitempty"`
	IsNot string `yaml:"isNot,omitempty"`
}

// ResourceMapping associates labels with Kubernetes group-resources.
type ResourceMapping struct {
	// Template turns a group-resource into a label name, e.g.
	// "kube_<<.Group>>_<<.Resource>>"; .Group has dots replaced by
	// underscores and .Resource is singular. It is also matched the other
	// way, from labels to resources.
	Template string `yaml:"template,omitempty"`
	// Overrides maps label names to group-resources.
	Overrides map[string]GroupResource `yaml:"overrides,omitempty"`
	// Namespaced, for external rules, says whether the HPA's namespace is
	// added to the query as a label matcher (default true).
	Namespaced *bool `yaml:"namespaced,omitempty"`
}

// GroupResource is a Kubernetes group and resource; the resource may be
// singular or plural ("pod" or "pods").
type GroupResource struct {
	Group    string `yaml:"group,omitempty"`
	Resource string `yaml:"resource"`
}

// NameMapping turns series names into API names: Matches is a regular
// expression (default ".*") and As a replacement using its groups (default
// $0 without groups, $1 with one group; required with more).
type NameMapping struct {
	Matches string `yaml:"matches"`
	As      string `yaml:"as"`
}

// ResourceRules are the queries behind metrics.k8s.io.
type ResourceRules struct {
	CPU    ResourceRule `yaml:"cpu"`
	Memory ResourceRule `yaml:"memory"`
	// Window is the window reported with each value; it should match the
	// range used in the queries.
	Window Duration `yaml:"window"`
}

// ResourceRule queries one resource (CPU or memory) for containers and
// nodes.
type ResourceRule struct {
	ContainerQuery string          `yaml:"containerQuery"`
	NodeQuery      string          `yaml:"nodeQuery"`
	Resources      ResourceMapping `yaml:"resources"`
	// ContainerLabel is the label holding the container name.
	ContainerLabel string `yaml:"containerLabel"`
}

// Forecast serves predictions of the metrics whose names match Matches.
// For a metric m and each horizon h it serves m_forecast_<h in seconds>s,
// the value of m predicted h ahead from its course over Window.
type Forecast struct {
	// Matches is a regular expression over API metric names (custom and
	// external), anchored at both ends.
	Matches string `yaml:"matches"`
	// Horizons are how far ahead to predict, e.g. [60s, 2m].
	Horizons []Duration `yaml:"horizons"`
	// Window is the stretch of history the prediction is fitted to
	// (default 2m).
	Window Duration `yaml:"window,omitempty"`
	// Step is the resolution of that history (default 10s).
	Step Duration `yaml:"step,omitempty"`
	// Method is predict_linear (default: least-squares line) or
	// holt_winters (double exponential smoothing plus the linear trend);
	// double_exponential_smoothing, Prometheus 3's name for that
	// function, is the same method. The adapter sends whichever of the two
	// function names the Prometheus server accepts.
	Method string `yaml:"method,omitempty"`
	// Smoothing and Trend are the smoothing method's factors in (0, 1)
	// (default 0.5).
	Smoothing float64 `yaml:"smoothing,omitempty"`
	Trend     float64 `yaml:"trend,omitempty"`
	// FloorAtCurrent never lets the forecast fall below the current value,
	// so a forecast can only bring a scale-out earlier, never delay one
	// or cause a scale-in.
	FloorAtCurrent bool `yaml:"floorAtCurrent,omitempty"`
}

// Forecast methods.
const (
	PredictLinear = "predict_linear"
	HoltWinters   = "holt_winters"
	// DoubleExponentialSmoothing is HoltWinters under the name Prometheus 3
	// gives the function.
	DoubleExponentialSmoothing = "double_exponential_smoothing"
)

// Discovery tunes series discovery.
type Discovery struct {
	// Mode is "full" (default: advertise every discovered metric in API
	// discovery, as prometheus-adapter does) or "compact" (advertise one
	// placeholder per API, as KEDA does, so kubectl stays fast with
	// thousands of metrics; every metric still answers).
	Mode string `yaml:"mode,omitempty"`
	// Lookback is how far back discovery looks for series (default 10m).
	// It is independent of the relist interval, so a metric scraped less
	// often than discovery runs does not flap.
	Lookback Duration `yaml:"lookback,omitempty"`
}

// Discovery modes.
const (
	ModeFull    = "full"
	ModeCompact = "compact"
)

// Duration is a time.Duration written as Prometheus writes them ("30s",
// "1m30s", "2h") or as Go does ("1.5s").
type Duration time.Duration

// UnmarshalYAML parses a duration and reports a bad one at its position.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	s := strings.TrimSpace(node.String())
	s = strings.Trim(s, `"'`)
	if s == "" || s == "null" {
		*d = 0
		return nil
	}
	if md, err := model.ParseDuration(s); err == nil {
		*d = Duration(md)
		return nil
	}
	td, err := time.ParseDuration(s)
	if err != nil || td < 0 {
		return &yaml.SyntaxError{Message: fmt.Sprintf("invalid duration %q: want e.g. 30s, 1m30s or 2h", s), Token: node.GetToken()}
	}
	*d = Duration(td)
	return nil
}

// MarshalYAML writes the duration the way Prometheus does.
func (d Duration) MarshalYAML() ([]byte, error) {
	return []byte(d.String()), nil
}

// String formats d as Prometheus does ("1m", "90s" as "1m30s").
func (d Duration) String() string { return model.Duration(d).String() }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// IsNamespaced reports whether an external rule adds the HPA's namespace
// to its query (the default).
func (m ResourceMapping) IsNamespaced() bool { return m.Namespaced == nil || *m.Namespaced }

// DiscoveryMode returns the discovery mode with the default applied.
func (c *Config) DiscoveryMode() string {
	if c.Discovery.Mode == "" {
		return ModeFull
	}
	return c.Discovery.Mode
}

// DiscoveryLookback returns the discovery lookback with the default applied.
func (c *Config) DiscoveryLookback() time.Duration {
	if c.Discovery.Lookback == 0 {
		return 10 * time.Minute
	}
	return c.Discovery.Lookback.Std()
}

// Source returns where the configuration was read from, for positions in
// error messages; it is never nil.
func (c *Config) Source() *Source {
	if c.source == nil {
		return &Source{}
	}
	return c.source
}
