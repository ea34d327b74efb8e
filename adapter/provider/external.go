package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/external_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/naming"
)

// planExternal finds the rule serving metric and renders its rule's
// query; render makes it a forecast's.
func (p *Provider) planExternal(ctx context.Context, metric, namespace string, metricSelector labels.Selector) (entry, string, error) {
	st := p.state.Load()
	e, ok := st.external[metric]
	if !ok {
		st = p.refresh(ctx)
		e, ok = st.external[metric]
	}
	if !ok {
		if err := st.discoveryUnavailable(metric, true); err != nil {
			return e, "", err
		}
		return e, "", notFound("external metric %s is not served%s", metric, st.explainMissing(metric, nil, true, p.opts.Now()))
	}
	promql, err := e.rule.ExternalQuery(e.series, namespace, metricSelector)
	if errors.Is(err, naming.ErrMetricSelector) {
		return e, "", badRequest("external metric %s: %v", metric, err)
	}
	if err != nil {
		return e, "", apiInternal(fmt.Errorf("external metric %s: %w", metric, err))
	}
	return e, promql, nil
}

// GetExternalMetric returns an external metric (the HPA's External
// metrics): one value per series the rule's query returns, with the
// series' labels. The metric selector becomes label matchers; the HPA's
// namespace is one too unless the rule says namespaced: false.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, metricSelector labels.Selector, info cmprovider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	list, err := p.getExternal(ctx, namespace, metricSelector, info)
	p.count("external", err)
	return list, err
}

func (p *Provider) getExternal(ctx context.Context, namespace string, metricSelector labels.Selector, info cmprovider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	e, base, err := p.planExternal(ctx, info.Metric, namespace, metricSelector)
	if err != nil {
		return nil, err
	}
	v, promql, err := p.queryEntry(ctx, "external", info.Metric, e, base)
	if err != nil {
		return nil, err
	}
	var samples []*model.Sample
	switch v := v.(type) {
	case model.Vector:
		samples = v
	case *model.Scalar:
		samples = []*model.Sample{{Value: v.Value, Timestamp: v.Timestamp}}
	default:
		return nil, apiInternal(fmt.Errorf("external metric %s: the query returned a %s, not an instant vector (PromQL: %s)", info.Metric, v.Type(), promql))
	}
	window := naming.Window(promql)
	list := &external_metrics.ExternalMetricValueList{}
	var bad error
	for _, s := range samples {
		q, err := quantity(float64(s.Value))
		if err != nil {
			bad = err
			continue
		}
		item := external_metrics.ExternalMetricValue{
			MetricName:   info.Metric,
			MetricLabels: map[string]string{},
			Timestamp:    metav1.NewTime(s.Timestamp.Time()),
			Value:        q,
		}
		for k, v := range s.Metric {
			if k != model.MetricNameLabel {
				item.MetricLabels[string(k)] = string(v)
			}
		}
		if window > 0 {
			w := int64(window.Seconds())
			item.WindowSeconds = &w
		}
		list.Items = append(list.Items, item)
	}
	if len(list.Items) == 0 {
		// An empty list makes the HPA report "no metrics returned" and
		// nothing else; say what was asked of Prometheus instead.
		why := "Prometheus returned no series"
		if bad != nil {
			why = bad.Error()
		}
		return nil, notFound("external metric %s in namespace %s: %s (PromQL: %s)", info.Metric, namespace, why, promql)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		return labels.Set(list.Items[i].MetricLabels).String() < labels.Set(list.Items[j].MetricLabels).String()
	})
	return list, nil
}
