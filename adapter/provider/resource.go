package provider

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/naming"
)

// resourceRules are compiled resourceRules: the CPU and memory queries
// behind metrics.k8s.io.
type resourceRules struct {
	cpu, memory resourceRule
	window      config.Duration
}

type resourceRule struct {
	container, node *naming.Rule
	containerLabel  string
}

func compileResourceRules(cfg *config.Config, mapper apimeta.RESTMapper) (*resourceRules, error) {
	rr := cfg.ResourceRules
	out := &resourceRules{window: rr.Window}
	for _, x := range []struct {
		name string
		in   config.ResourceRule
		out  *resourceRule
	}{{"cpu", rr.CPU, &out.cpu}, {"memory", rr.Memory, &out.memory}} {
		path := "resourceRules." + x.name
		c, err := naming.CompileRule(config.DiscoveryRule{SeriesQuery: "-", Resources: x.in.Resources, MetricsQuery: x.in.ContainerQuery}, path, false, mapper, cfg.Source())
		if err != nil {
			return nil, err
		}
		n, err := naming.CompileRule(config.DiscoveryRule{SeriesQuery: "-", Resources: x.in.Resources, MetricsQuery: x.in.NodeQuery}, path, false, mapper, cfg.Source())
		if err != nil {
			return nil, err
		}
		*x.out = resourceRule{container: c, node: n, containerLabel: x.in.ContainerLabel}
	}
	return out, nil
}

// PodMetrics serves metrics.k8s.io pods: the CPU (cores) and memory
// (bytes) of each container, from the resourceRules' containerQuery.
func (p *Provider) PodMetrics(ctx context.Context, namespace string, selector labels.Selector, names []string) ([]metrics.PodMetrics, error) {
	out, err := p.podMetrics(ctx, namespace, selector, names)
	p.count("resource", err)
	return out, err
}

func (p *Provider) podMetrics(ctx context.Context, namespace string, selector labels.Selector, names []string) ([]metrics.PodMetrics, error) {
	rr := p.state.Load().compiled.resource
	if rr == nil {
		return nil, notFound("resource metrics are not configured: add resourceRules to the configuration")
	}
	q, running, empty, err := p.podObjects(ctx, namespace, selector, names)
	if err != nil {
		return nil, err
	}
	if empty {
		return []metrics.PodMetrics{}, nil
	}
	type key struct{ ns, pod, container string }
	usage := map[key]corev1.ResourceList{}
	var ts time.Time
	for _, r := range []struct {
		name corev1.ResourceName
		rule resourceRule
	}{{corev1.ResourceCPU, rr.cpu}, {corev1.ResourceMemory, rr.memory}} {
		rq := q
		rq.ExtraGroupBy = append([]string{r.rule.containerLabel}, q.ExtraGroupBy...)
		var nsLabel string
		if namespace == "" {
			// Across namespaces two pods may share a name: group by the
			// namespace label too, this rule's own (the CPU and memory
			// series may come from exporters naming it differently).
			if nsLabel, err = r.rule.container.Resources.LabelFor(naming.Namespaces); err != nil {
				return nil, apiInternal(fmt.Errorf("resourceRules.%s: %v", r.name, err))
			}
			rq.ExtraGroupBy = append(rq.ExtraGroupBy, nsLabel)
		}
		promql, podLabel, err := r.rule.container.Query(rq)
		if err != nil {
			return nil, apiInternal(fmt.Errorf("resourceRules.%s: %v", r.name, err))
		}
		v, err := p.query(ctx, "resource", promql)
		if err != nil {
			return nil, err
		}
		vec, _ := v.(model.Vector)
		for _, s := range vec {
			k := key{namespace, string(s.Metric[model.LabelName(podLabel)]), string(s.Metric[model.LabelName(r.rule.containerLabel)])}
			if namespace == "" {
				k.ns = string(s.Metric[model.LabelName(nsLabel)])
			}
			if k.pod == "" || k.container == "" {
				continue
			}
			q, ok := resourceQuantity(r.name, float64(s.Value))
			if !ok {
				continue
			}
			if running != nil && !running[types.NamespacedName{Namespace: k.ns, Name: k.pod}] {
				continue
			}
			if usage[k] == nil {
				usage[k] = corev1.ResourceList{}
			}
			usage[k][r.name] = q
			if t := s.Timestamp.Time(); t.After(ts) {
				ts = t
			}
		}
	}
	byPod := map[[2]string]*metrics.PodMetrics{}
	var order [][2]string
	for k, u := range usage {
		// A container with CPU but no memory (or the reverse) is left out
		// rather than reported with a zero the HPA would average in.
		if len(u) != 2 {
			continue
		}
		pk := [2]string{k.ns, k.pod}
		pm, ok := byPod[pk]
		if !ok {
			pm = &metrics.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: k.ns, Name: k.pod}, Timestamp: metav1.NewTime(ts), Window: metav1.Duration{Duration: rr.window.Std()}}
			byPod[pk] = pm
			order = append(order, pk)
		}
		pm.Containers = append(pm.Containers, metrics.ContainerMetrics{Name: k.container, Usage: u})
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i][0] != order[j][0] {
			return order[i][0] < order[j][0]
		}
		return order[i][1] < order[j][1]
	})
	out := make([]metrics.PodMetrics, 0, len(order))
	for _, pk := range order {
		pm := byPod[pk]
		sort.Slice(pm.Containers, func(i, j int) bool { return pm.Containers[i].Name < pm.Containers[j].Name })
		out = append(out, *pm)
	}
	return out, nil
}

// NodeMetrics serves metrics.k8s.io nodes from the resourceRules'
// nodeQuery.
func (p *Provider) NodeMetrics(ctx context.Context, selector labels.Selector, names []string) ([]metrics.NodeMetrics, error) {
	out, err := p.nodeMetrics(ctx, selector, names)
	p.count("resource", err)
	return out, err
}

func (p *Provider) nodeMetrics(ctx context.Context, selector labels.Selector, names []string) ([]metrics.NodeMetrics, error) {
	rr := p.state.Load().compiled.resource
	if rr == nil {
		return nil, notFound("resource metrics are not configured: add resourceRules to the configuration")
	}
	q, empty, err := p.resourceObjects(ctx, naming.Nodes, "", selector, names)
	if err != nil {
		return nil, err
	}
	if empty {
		return []metrics.NodeMetrics{}, nil
	}
	usage := map[string]corev1.ResourceList{}
	var ts time.Time
	for _, r := range []struct {
		name corev1.ResourceName
		rule resourceRule
	}{{corev1.ResourceCPU, rr.cpu}, {corev1.ResourceMemory, rr.memory}} {
		promql, nodeLabel, err := r.rule.node.Query(q)
		if err != nil {
			return nil, apiInternal(fmt.Errorf("resourceRules.%s: %v", r.name, err))
		}
		v, err := p.query(ctx, "resource", promql)
		if err != nil {
			return nil, err
		}
		vec, _ := v.(model.Vector)
		for _, s := range vec {
			n := string(s.Metric[model.LabelName(nodeLabel)])
			q, ok := resourceQuantity(r.name, float64(s.Value))
			if n == "" || !ok {
				continue
			}
			if usage[n] == nil {
				usage[n] = corev1.ResourceList{}
			}
			usage[n][r.name] = q
			if t := s.Timestamp.Time(); t.After(ts) {
				ts = t
			}
		}
	}
	out := []metrics.NodeMetrics{}
	for _, n := range slices.Sorted(maps.Keys(usage)) {
		if len(usage[n]) != 2 {
			continue
		}
		out = append(out, metrics.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: n}, Timestamp: metav1.NewTime(ts), Window: metav1.Duration{Duration: rr.window.Std()}, Usage: usage[n]})
	}
	return out, nil
}

// podObjects is resourceObjects for pods, restricted to Running pods as
// metrics-server does, when the Objects lister can select by phase (a
// cluster's API can): running is then the set of pods to report, and a
// pod that is not Running is not found. Finished pods keep series in
// Prometheus for minutes after they stop; kubectl top would list them and
// the HPA would average a Succeeded pod's last usage in (it skips only
// Failed ones). Without such a lister running is nil and every pod with
// series is reported.
func (p *Provider) podObjects(ctx context.Context, namespace string, selector labels.Selector, names []string) (q naming.ObjectQuery, running map[types.NamespacedName]bool, empty bool, err error) {
	fl, ok := p.opts.Objects.(kube.FieldLister)
	if !ok {
		q, empty, err = p.resourceObjects(ctx, naming.Pods, namespace, selector, names)
		return q, nil, empty, err
	}
	if selector == nil {
		selector = labels.Everything()
	}
	fs := kube.RunningPods
	if len(names) == 1 {
		fs = fields.AndSelectors(fs, fields.OneTermEqualSelector("metadata.name", names[0]))
	}
	refs, err := fl.ListByFields(ctx, naming.Pods, namespace, selector, fs)
	if err != nil {
		return q, nil, false, apiInternal(err)
	}
	running = make(map[types.NamespacedName]bool, len(refs))
	for _, r := range refs {
		running[r] = true
	}
	byName := len(names) > 0
	if byName {
		var keep []string
		for _, n := range names {
			if running[types.NamespacedName{Namespace: namespace, Name: n}] {
				keep = append(keep, n)
			}
		}
		names = keep
	}
	if len(running) == 0 || (byName && len(names) == 0) {
		return q, running, true, nil
	}
	q = naming.ObjectQuery{Resource: naming.Pods, Namespace: namespace}
	switch {
	case len(names) > 0:
		q.Names = names
	case namespace != "" && !selector.Empty():
		// Narrow the query to the selected pods.
		for _, r := range refs {
			q.Names = append(q.Names, r.Name)
		}
		sort.Strings(q.Names)
	default:
		// A whole namespace, or all of them: one query, filtered by
		// running.
		q.All = true
	}
	return q, running, false, nil
}

// resourceObjects turns names or a selector into an ObjectQuery; empty is
// true when a selector matched no object.
func (p *Provider) resourceObjects(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector, names []string) (q naming.ObjectQuery, empty bool, err error) {
	q = naming.ObjectQuery{Resource: gr, Namespace: namespace}
	if selector == nil {
		selector = labels.Everything()
	}
	switch {
	case len(names) > 0:
		q.Names = names
	case selector.Empty():
		q.All = true
	case p.opts.Objects == nil:
		return q, false, badRequest("selecting %s by label (%s) needs the Kubernetes API to list them (--lister-kubeconfig)", gr, selector)
	case namespace == "" && gr == naming.Pods:
		return q, false, badRequest("list pod metrics by label selector within one namespace")
	default:
		names, err := p.opts.Objects.List(ctx, gr, namespace, selector)
		if err != nil {
			return q, false, listError(err)
		}
		if len(names) == 0 {
			return q, true, nil
		}
		q.Names = names
	}
	return q, false, nil
}

// resourceQuantity is CPU in millicores and memory in bytes, as
// metrics-server reports them. A negative value (a query computing usage
// by subtraction) is zero, as in prometheus-adapter: the HPA would take a
// negative usage for a reason to scale in. NaN, an infinity (a query
// dividing by zero) and a value beyond an int64 of the unit have no
// quantity (ok is false): converted, they would become -2^63, the same
// reason to scale in.
func resourceQuantity(name corev1.ResourceName, v float64) (q resource.Quantity, ok bool) {
	v = max(v, 0)
	if name == corev1.ResourceCPU {
		v *= 1000
	}
	// 2^63 is the first float64 beyond int64; NaN fails the comparison.
	if !(v < math.MaxInt64) {
		return q, false
	}
	if name == corev1.ResourceCPU {
		return *resource.NewMilliQuantity(int64(math.Round(v)), resource.DecimalSI), true
	}
	return *resource.NewQuantity(int64(math.Round(v)), resource.BinarySI), true
}
