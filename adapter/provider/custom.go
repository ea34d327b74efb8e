package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/naming"
)

// GetMetricByName returns the metric of one object (the HPA's Object
// metrics, and kubectl get --raw .../pods/NAME/METRIC).
func (p *Provider) GetMetricByName(ctx context.Context, name types.NamespacedName, info cmprovider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	res, err := p.customQuery(ctx, info, name.Namespace, naming.ObjectQuery{Names: []string{name.Name}, MetricSelector: metricSelector})
	if err != nil {
		p.count("custom", err)
		return nil, err
	}
	s, ok := res.values[name.Name]
	if !ok {
		obj := name.Name
		if name.Namespace != "" {
			obj = name.Namespace + "/" + name.Name
		}
		err := notFound("metric %s for %s %s: Prometheus returned no series for this object (PromQL: %s)", info.Metric, res.gr, obj, res.promql)
		p.count("custom", err)
		return nil, err
	}
	v, err := p.metricValue(res, name.Namespace, name.Name, s, info.Metric, metricSelector)
	p.count("custom", err)
	return v, err
}

// GetMetricBySelector returns the metric of every object matching selector
// (the HPA's Pods metrics). Objects without series are left out, as the
// HPA expects; if none of them has one, that is an error that says so
// rather than an empty list.
func (p *Provider) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info cmprovider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	list, err := p.getBySelector(ctx, namespace, selector, info, metricSelector)
	p.count("custom", err)
	return list, err
}

func (p *Provider) getBySelector(ctx context.Context, namespace string, selector labels.Selector, info cmprovider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	if selector == nil {
		selector = labels.Everything()
	}
	gr, err := p.normalize(info.GroupResource)
	if err != nil {
		return nil, err
	}
	q := naming.ObjectQuery{MetricSelector: metricSelector}
	var names []string
	switch {
	case p.opts.Objects != nil:
		names, err = p.opts.Objects.List(ctx, gr, namespace, selector)
		if err != nil {
			return nil, listError(fmt.Errorf("listing %s matching %q: %w", gr, selector, err))
		}
		if len(names) == 0 {
			// No object matches: an empty list, as Kubernetes lists
			// are ("items": [], not null).
			return &custom_metrics.MetricValueList{Items: []custom_metrics.MetricValue{}}, nil
		}
		q.Names = names
	case selector.Empty():
		q.All = true
	default:
		return nil, badRequest("selecting %s by label (%s) needs the Kubernetes API to list them (--lister-kubeconfig); this adapter runs without it", gr, selector)
	}
	res, err := p.customQuery(ctx, info, namespace, q)
	if err != nil {
		return nil, err
	}
	if q.All {
		for n := range res.values {
			names = append(names, n)
		}
	}
	list := &custom_metrics.MetricValueList{}
	for _, n := range sortedStrings(names) {
		s, ok := res.values[n]
		if !ok {
			continue
		}
		v, err := p.metricValue(res, namespace, n, s, info.Metric, metricSelector)
		if err != nil {
			continue
		}
		list.Items = append(list.Items, *v)
	}
	if len(list.Items) == 0 {
		where := ""
		if namespace != "" {
			where = " in namespace " + namespace
		}
		if q.All {
			return nil, notFound("metric %s for %s%s: Prometheus returned no series (PromQL: %s)", info.Metric, gr, where, res.promql)
		}
		return nil, notFound("metric %s: none of the %d %s matching %q%s has a value (PromQL: %s)", info.Metric, len(names), gr, selector.String(), where, res.promql)
	}
	return list, nil
}

// planCustom finds the rule serving info and renders its rule's query;
// render makes it a forecast's.
func (p *Provider) planCustom(ctx context.Context, info cmprovider.CustomMetricInfo, namespace string, q naming.ObjectQuery) (schema.GroupResource, entry, string, string, error) {
	gr, err := p.normalize(info.GroupResource)
	if err != nil {
		return gr, entry{}, "", "", err
	}
	_, e, err := p.lookupCustom(ctx, gr, info.Metric)
	if err != nil {
		return gr, e, "", "", err
	}
	q.Series, q.Resource, q.Namespace = e.series, gr, namespace
	promql, label, err := e.rule.Query(q)
	if errors.Is(err, naming.ErrMetricSelector) {
		return gr, e, "", "", badRequest("metric %s for %s: %v", info.Metric, gr, err)
	}
	if err != nil {
		return gr, e, "", "", apiInternal(fmt.Errorf("metric %s for %s: %w", info.Metric, gr, err))
	}
	return gr, e, promql, label, nil
}

// customResult is a query's answer by object name.
type customResult struct {
	gr     schema.GroupResource
	promql string
	window time.Duration
	values map[string]*model.Sample

	// Set by metricValue's first call.
	once             sync.Once
	kind, apiVersion string
	selector         *metav1.LabelSelector
}

// customQuery finds the rule serving info (running discovery on demand
// if none does yet), renders its query and runs it.
func (p *Provider) customQuery(ctx context.Context, info cmprovider.CustomMetricInfo, namespace string, q naming.ObjectQuery) (*customResult, error) {
	gr, e, base, label, err := p.planCustom(ctx, info, namespace, q)
	if err != nil {
		return nil, err
	}
	v, promql, err := p.queryEntry(ctx, "custom", info.Metric, e, base)
	if err != nil {
		return nil, err
	}
	res := &customResult{gr: gr, promql: promql, window: naming.Window(promql), values: map[string]*model.Sample{}}
	switch v := v.(type) {
	case model.Vector:
		for _, s := range v {
			obj := string(s.Metric[model.LabelName(label)])
			if obj == "" {
				continue
			}
			if _, dup := res.values[obj]; dup {
				// Two series for one object: the query does not group
				// by the resource label. Refuse rather than pick one.
				return nil, apiInternal(fmt.Errorf("metric %s for %s %s: the query returned several series for one object; its metricsQuery must aggregate by (<<.GroupBy>>) (PromQL: %s)", info.Metric, gr, obj, promql))
			}
			res.values[obj] = s
		}
	default:
		return nil, apiInternal(fmt.Errorf("metric %s: the query returned a %s, not an instant vector (PromQL: %s)", info.Metric, v.Type(), promql))
	}
	return res, nil
}

func (p *Provider) lookupCustom(ctx context.Context, gr schema.GroupResource, metric string) (*state, entry, error) {
	st := p.state.Load()
	e, ok := st.custom[customKey{gr, metric}]
	if !ok {
		// A metric that appeared since the last discovery is served at
		// once rather than after up to one relist interval.
		st = p.refresh(ctx)
		e, ok = st.custom[customKey{gr, metric}]
	}
	if !ok {
		if err := st.discoveryUnavailable(metric, false); err != nil {
			return st, e, err
		}
		var elsewhere []string
		for k := range st.custom {
			if k.metric == metric {
				elsewhere = append(elsewhere, k.gr.String())
			}
		}
		return st, e, notFound("metric %s is not served for %s%s", metric, gr, st.explainMissing(metric, elsewhere, false, p.opts.Now()))
	}
	return st, e, nil
}

func (p *Provider) normalize(gr schema.GroupResource) (schema.GroupResource, error) {
	n, err := naming.Normalize(p.opts.Mapper, gr)
	if err != nil {
		return gr, notFound("resource %s is not known to the cluster: %v", gr, err)
	}
	return n, nil
}

// metricValue builds the API value of one sample. The object's kind and
// the metric selector are worked out once per result (res.ref, res.selector):
// a thousand pods would otherwise ask the REST mapper a thousand times.
func (p *Provider) metricValue(res *customResult, namespace, name string, s *model.Sample, metric string, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	q, err := quantity(float64(s.Value))
	if err != nil {
		return nil, notFound("metric %s for %s %s: %v (PromQL: %s)", metric, res.gr, name, err, res.promql)
	}
	res.once.Do(func() {
		if gvk, err := p.opts.Mapper.KindFor(res.gr.WithVersion("")); err == nil {
			res.kind, res.apiVersion = gvk.Kind, gvk.GroupVersion().String()
		}
		if metricSelector != nil && !metricSelector.Empty() {
			if ls, err := metav1.ParseToLabelSelector(metricSelector.String()); err == nil {
				res.selector = ls
			}
		}
	})
	v := &custom_metrics.MetricValue{
		DescribedObject: custom_metrics.ObjectReference{Kind: res.kind, APIVersion: res.apiVersion, Namespace: namespace, Name: name},
		Metric:          custom_metrics.MetricIdentifier{Name: metric},
		Timestamp:       metav1.NewTime(s.Timestamp.Time()),
		Value:           q,
	}
	if res.window > 0 {
		w := int64(res.window / time.Second)
		v.WindowSeconds = &w
	}
	if res.selector != nil {
		v.Metric.Selector = res.selector.DeepCopy()
	}
	return v, nil
}

// quantity converts a sample value to a Quantity with milli precision
// (45.5 → 45500m), which is what the HPA compares against its targets.
// NaN (a ratio or quantile over no requests) and infinities have no
// Quantity; they are reported, not turned into a number the HPA would act
// on.
func quantity(v float64) (resource.Quantity, error) {
	switch {
	case math.IsNaN(v):
		return resource.Quantity{}, fmt.Errorf("the value is NaN (a quantile or ratio over no data)")
	case math.IsInf(v, 0) || math.Abs(v) > math.MaxInt64/1000:
		return resource.Quantity{}, fmt.Errorf("the value %g is out of range", v)
	}
	return *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI), nil
}
