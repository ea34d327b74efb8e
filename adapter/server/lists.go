package server

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"k8s.io/metrics/pkg/apis/external_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Kubernetes' own APIs send an empty list as "items": [], never null
// (clients in other languages and jq filters trip over null). Whatever a
// provider returns, these wrappers make the lists the server encodes
// non-nil; the generated conversions to v1beta1/v1beta2 keep an empty
// slice empty rather than nil.

type customLists struct {
	cmprovider.CustomMetricsProvider
}

func (c customLists) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info cmprovider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	l, err := c.CustomMetricsProvider.GetMetricBySelector(ctx, namespace, selector, info, metricSelector)
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = &custom_metrics.MetricValueList{}
	}
	if l.Items == nil {
		l.Items = []custom_metrics.MetricValue{}
	}
	return l, nil
}

type externalLists struct {
	cmprovider.ExternalMetricsProvider
}

func (e externalLists) GetExternalMetric(ctx context.Context, namespace string, metricSelector labels.Selector, info cmprovider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	l, err := e.ExternalMetricsProvider.GetExternalMetric(ctx, namespace, metricSelector, info)
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = &external_metrics.ExternalMetricValueList{}
	}
	if l.Items == nil {
		l.Items = []external_metrics.ExternalMetricValue{}
	}
	return l, nil
}

// withNonNilLists wraps the custom and external providers of p.
func withNonNilLists(p Providers) Providers {
	if p.Custom != nil {
		p.Custom = customLists{p.Custom}
	}
	if p.External != nil {
		p.External = externalLists{p.External}
	}
	return p
}
