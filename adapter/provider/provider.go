package provider

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/prometheus/common/model"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/naming"
	"github.com/gatescale/gatescale/adapter/prom"
)

// Querier runs instant PromQL queries; *prom.Client is one.
type Querier interface {
	Query(ctx context.Context, q string, ts time.Time) (model.Value, error)
	URL() string
}

// Options configure a Provider.
type Options struct {
	// Prometheus answers the queries.
	Prometheus Querier
	// Discoverer lists series; the Provider sets its selectors from the
	// rules and rebuilds its registry from each snapshot.
	Discoverer *prom.Discoverer
	// Mapper normalizes group-resources and finds kinds.
	Mapper apimeta.RESTMapper
	// Objects lists objects by label selector. Without it, only requests
	// for all objects (an empty selector) or by name can be answered.
	Objects kube.Objects
	// Metrics, if set, records the adapter's own metrics.
	Metrics *Metrics
	// Logger receives warnings (rule conflicts, discovery errors).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Provider serves custom and external metrics (and, with resource rules,
// resource metrics) from Prometheus according to a configuration. It
// implements custom-metrics-apiserver's CustomMetricsProvider and
// ExternalMetricsProvider. The configuration can be replaced while it
// serves (SetConfig); a request sees one configuration from start to end.
type Provider struct {
	opts  Options
	state atomic.Pointer[state]
	// rebuild serializes registry rebuilds (new snapshot, new config).
	rebuild sync.Mutex
	// onChange are called after each rebuild.
	onChange []func()
	// smoothing is the smoothing function's name the server accepts
	// (a string), once a query has shown it; it survives reloads, as the
	// server does.
	smoothing atomic.Value
	// smoothingDisabledLogged is set once "experimental functions are
	// off" is logged, and cleared by a smoothing query that succeeds.
	smoothingDisabledLogged atomic.Bool
}

// OnChange registers fn to be called whenever the served metrics may have
// changed (a discovery run or a configuration reload), e.g. to refresh an
// API discovery document.
func (p *Provider) OnChange(fn func()) {
	p.rebuild.Lock()
	p.onChange = append(p.onChange, fn)
	p.rebuild.Unlock()
}

// New returns a Provider serving cfg. It fails if cfg's rules do not
// compile against the mapper (an override naming an unknown resource).
func New(cfg *config.Config, o Options) (*Provider, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Provider{opts: o}
	if err := p.SetConfig(cfg); err != nil {
		return nil, err
	}
	if o.Discoverer != nil {
		o.Discoverer.OnUpdate(func(s *prom.Snapshot) { p.rebuildFrom(nil, s) })
	}
	return p, nil
}

// SetConfig compiles cfg and, if it compiles, serves it from now on; on
// error the current configuration stays in force.
func (p *Provider) SetConfig(cfg *config.Config) error {
	c, err := compile(cfg, p.opts.Mapper)
	if err != nil {
		return err
	}
	var snap *prom.Snapshot
	if p.opts.Discoverer != nil {
		snap = p.opts.Discoverer.Snapshot()
	}
	p.rebuildFrom(c, snap)
	if p.opts.Discoverer != nil {
		p.opts.Discoverer.SetSelectors(c.selectors())
	}
	return nil
}

// Config returns the configuration being served.
func (p *Provider) Config() *config.Config { return p.state.Load().compiled.cfg }

// compiled is a configuration compiled once.
type compiled struct {
	cfg       *config.Config
	rules     []*naming.Rule
	external  []*naming.Rule
	forecasts []forecast
	resource  *resourceRules // nil without resourceRules
}

func compile(cfg *config.Config, mapper apimeta.RESTMapper) (*compiled, error) {
	rules, external, err := naming.Compile(cfg, mapper)
	if err != nil {
		return nil, err
	}
	c := &compiled{cfg: cfg, rules: rules, external: external}
	for i, f := range cfg.Forecasts {
		re, err := regexp.Compile("^(?:" + f.Matches + ")$")
		if err != nil {
			return nil, cfg.Source().Errorf(fmt.Sprintf("forecasts[%d].matches", i), "invalid regular expression: %v", err)
		}
		c.forecasts = append(c.forecasts, forecast{spec: f, matches: re})
	}
	if cfg.ResourceRules != nil {
		if c.resource, err = compileResourceRules(cfg, mapper); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *compiled) selectors() []string {
	var out []string
	for _, r := range c.rules {
		out = append(out, r.SeriesQuery)
	}
	for _, r := range c.external {
		out = append(out, r.SeriesQuery)
	}
	return out
}

// entry says how to query one served metric.
type entry struct {
	rule   *naming.Rule
	series string    // the Prometheus series name
	fc     *forecast // set for a forecast metric
	h      time.Duration
}

type customKey struct {
	gr     schema.GroupResource
	metric string
}

// ruleStat records what discovery gave a rule, for "not found" errors.
type ruleStat struct {
	rule    *naming.Rule
	series  int      // series shapes the selector returned
	metrics []string // API metric names it produced
	err     error    // listing error
}

// state is one registry: a compiled configuration and what discovery
// found for it. It is replaced, never modified.
type state struct {
	compiled  *compiled
	snapTime  time.Time
	custom    map[customKey]entry
	external  map[string]entry
	customs   []cmprovider.CustomMetricInfo
	externals []cmprovider.ExternalMetricInfo
	stats     []ruleStat // rules then external rules
	// root holds the group-resources the mapper says are cluster-scoped.
	root map[schema.GroupResource]bool
}

// rebuildFrom builds a new registry from a compiled configuration (nil:
// the current one) and a snapshot (nil: none yet).
func (p *Provider) rebuildFrom(c *compiled, snap *prom.Snapshot) {
	p.rebuild.Lock()
	defer p.rebuild.Unlock()
	old := p.state.Load()
	if c == nil {
		if old == nil {
			return
		}
		c = old.compiled
	}
	if snap == nil {
		snap = &prom.Snapshot{}
	}
	for sel, err := range snap.Errors {
		p.opts.Logger.Warn("series discovery failed; serving what the last successful run found", "selector", sel, "err", err)
	}
	st := &state{compiled: c, snapTime: snap.Time, custom: map[customKey]entry{}, external: map[string]entry{}, root: map[schema.GroupResource]bool{}}
	namespacedMetric := map[customKey]bool{}
	for _, r := range c.rules {
		rs := ruleStat{rule: r, err: snap.Errors[r.SeriesQuery]}
		seen := map[string]bool{}
		for _, s := range snap.Series[r.SeriesQuery] {
			if !r.Matches(s.Name) {
				continue
			}
			rs.series++
			name := r.MetricName(s.Name)
			if !seen[name] {
				seen[name] = true
				rs.metrics = append(rs.metrics, name)
			}
			grs, namespaced := r.Resources.ForLabels(s.Labels)
			for _, gr := range grs {
				k := customKey{gr, name}
				if e, ok := st.custom[k]; ok {
					if e.rule != r || e.series != s.Name {
						p.opts.Logger.Debug("metric served by an earlier rule", "metric", name, "resource", gr.String(), "kept", e.rule.Path+" "+e.series, "ignored", r.Path+" "+s.Name)
					}
					continue
				}
				st.custom[k] = entry{rule: r, series: s.Name}
				namespacedMetric[k] = namespaced && !p.rootScoped(st, gr)
			}
		}
		st.stats = append(st.stats, rs)
	}
	for _, r := range c.external {
		rs := ruleStat{rule: r, err: snap.Errors[r.SeriesQuery]}
		for _, s := range snap.Series[r.SeriesQuery] {
			if !r.Matches(s.Name) {
				continue
			}
			rs.series++
			name := r.MetricName(s.Name)
			if _, ok := st.external[name]; ok {
				continue
			}
			rs.metrics = append(rs.metrics, name)
			st.external[name] = entry{rule: r, series: s.Name}
		}
		st.stats = append(st.stats, rs)
	}
	// Forecasts of every served metric that a forecast section names (not
	// of forecasts: the loops run over the metrics found so far).
	baseCustom := make([]customKey, 0, len(st.custom))
	for k := range st.custom {
		baseCustom = append(baseCustom, k)
	}
	baseExternal := make([]string, 0, len(st.external))
	for n := range st.external {
		baseExternal = append(baseExternal, n)
	}
	for _, k := range baseCustom {
		e := st.custom[k]
		for i := range c.forecasts {
			f := &c.forecasts[i]
			if !f.matches.MatchString(k.metric) {
				continue
			}
			for _, h := range f.spec.Horizons {
				fk := customKey{k.gr, forecastName(k.metric, h.Std())}
				if _, ok := st.custom[fk]; !ok {
					st.custom[fk] = entry{rule: e.rule, series: e.series, fc: f, h: h.Std()}
					namespacedMetric[fk] = namespacedMetric[k]
				}
			}
		}
	}
	for _, name := range baseExternal {
		e := st.external[name]
		for i := range c.forecasts {
			f := &c.forecasts[i]
			if !f.matches.MatchString(name) {
				continue
			}
			for _, h := range f.spec.Horizons {
				fn := forecastName(name, h.Std())
				if _, ok := st.external[fn]; !ok {
					st.external[fn] = entry{rule: e.rule, series: e.series, fc: f, h: h.Std()}
				}
			}
		}
	}
	for k := range st.custom {
		st.customs = append(st.customs, cmprovider.CustomMetricInfo{GroupResource: k.gr, Metric: k.metric, Namespaced: namespacedMetric[k]})
	}
	sort.Slice(st.customs, func(i, j int) bool {
		a, b := st.customs[i], st.customs[j]
		if a.GroupResource != b.GroupResource {
			return a.GroupResource.String() < b.GroupResource.String()
		}
		return a.Metric < b.Metric
	})
	for name := range st.external {
		st.externals = append(st.externals, cmprovider.ExternalMetricInfo{Metric: name})
	}
	sort.Slice(st.externals, func(i, j int) bool { return st.externals[i].Metric < st.externals[j].Metric })
	p.state.Store(st)
	for _, fn := range p.onChange {
		fn()
	}
	if m := p.opts.Metrics; m != nil {
		m.servedMetrics.WithLabelValues("custom").Set(float64(len(st.customs)))
		m.servedMetrics.WithLabelValues("external").Set(float64(len(st.externals)))
	}
}

// rootScoped reports whether gr is cluster-scoped (namespaces, nodes), so
// that its metrics are listed as not namespaced, as the API expects.
func (p *Provider) rootScoped(st *state, gr schema.GroupResource) bool {
	if v, ok := st.root[gr]; ok {
		return v
	}
	root := false
	if gvk, err := p.opts.Mapper.KindFor(gr.WithVersion("")); err == nil {
		if m, err := p.opts.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			root = m.Scope.Name() == apimeta.RESTScopeNameRoot
		}
	}
	st.root[gr] = root
	return root
}

// refresh runs discovery now (on demand) and returns the state built from
// it.
func (p *Provider) refresh(ctx context.Context) *state {
	if p.opts.Discoverer != nil {
		_, _ = p.opts.Discoverer.Refresh(ctx)
	}
	return p.state.Load()
}

// ListAllMetrics lists the custom metrics for API discovery, from memory.
// In compact mode it lists one placeholder per resource instead of every
// metric, as KEDA does for external metrics: the HPA never reads this
// list, and kubectl reads it on every call.
func (p *Provider) ListAllMetrics() []cmprovider.CustomMetricInfo {
	st := p.state.Load()
	if st.compiled.cfg.DiscoveryMode() != config.ModeCompact {
		return st.customs
	}
	seen := map[customKey]bool{}
	var out []cmprovider.CustomMetricInfo
	for _, m := range st.customs {
		k := customKey{m.GroupResource, CompactCustomPlaceholder}
		if !seen[k] {
			seen[k] = true
			out = append(out, cmprovider.CustomMetricInfo{GroupResource: m.GroupResource, Namespaced: m.Namespaced, Metric: CompactCustomPlaceholder})
		}
	}
	return out
}

// ListAllExternalMetrics lists the external metrics for API discovery; in
// compact mode, one placeholder.
func (p *Provider) ListAllExternalMetrics() []cmprovider.ExternalMetricInfo {
	st := p.state.Load()
	if st.compiled.cfg.DiscoveryMode() != config.ModeCompact {
		return st.externals
	}
	if len(st.externals) == 0 {
		return nil
	}
	return []cmprovider.ExternalMetricInfo{{Metric: CompactExternalPlaceholder}}
}

// Placeholders advertised in compact discovery mode.
const (
	CompactCustomPlaceholder   = "custommetrics"
	CompactExternalPlaceholder = "externalmetrics"
)
