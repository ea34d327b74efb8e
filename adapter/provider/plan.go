package provider

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/naming"
)

// Plan is how a request is answered: by which rule, from which series,
// with which PromQL. `gatescale-adapter query` prints it next to the
// answer, because "which query did it run" is the first question when the
// HPA shows <unknown>.
type Plan struct {
	// Rule is the rule's path and selector, e.g. rules[0] (seriesQuery ...).
	Rule string
	// Series is the Prometheus series the metric comes from.
	Series string
	// PromQL is the query sent to Prometheus.
	PromQL string
	// Forecast is set for a forecast metric: its method and horizon.
	Forecast string
}

// PlanCustom returns the plan for a custom metric of the named objects
// (all objects having the series when names is empty). It runs discovery
// on demand, as a request would, but not the query. For a smoothing
// forecast whose function name the server has not shown yet it asks the
// server once which name it knows, so that the PromQL is the one sent; if
// Prometheus is unavailable for that, it returns the plan (with the
// configured name) and the 503 the query would get, so that the caller
// need not wait for the query to time out as well.
func (p *Provider) PlanCustom(ctx context.Context, info cmprovider.CustomMetricInfo, namespace string, names []string, metricSelector labels.Selector) (Plan, error) {
	q := naming.ObjectQuery{Names: names, All: len(names) == 0, MetricSelector: metricSelector}
	_, e, base, _, err := p.planCustom(ctx, info, namespace, q)
	if err != nil {
		return Plan{}, err
	}
	err = p.learnSmoothing(ctx, "custom", e)
	return e.plan(p.render(e, base)), err
}

// PlanExternal returns the plan for an external metric, finding the
// smoothing function's name (or Prometheus unavailable) as PlanCustom
// does.
func (p *Provider) PlanExternal(ctx context.Context, metric, namespace string, metricSelector labels.Selector) (Plan, error) {
	e, base, err := p.planExternal(ctx, metric, namespace, metricSelector)
	if err != nil {
		return Plan{}, err
	}
	err = p.learnSmoothing(ctx, "external", e)
	return e.plan(p.render(e, base)), err
}

func (e entry) plan(promql string) Plan {
	pl := Plan{Rule: e.rule.String(), Series: e.series, PromQL: promql}
	if e.fc != nil {
		pl.Forecast = e.fc.spec.MethodOrDefault() + " " + e.h.String() + " ahead"
	}
	return pl
}
