package kube

import (
	"context"
	"fmt"
	"sort"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Objects lists Kubernetes objects by label selector. The HPA asks for the
// metric of "the pods matching app=gateway"; only the cluster knows which
// pods those are, so the adapter asks an Objects for their names and then
// queries Prometheus for those names.
type Objects interface {
	// List returns the names of the objects of gr (normalized) in
	// namespace (empty for root-scoped resources) whose labels match
	// selector.
	List(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]string, error)
}

// FieldLister is implemented by Objects that can also select by field, as
// the API server does. metrics.k8s.io needs it to report only Running
// pods (status.phase=Running), as metrics-server does; across namespaces
// the names need their namespaces, hence NamespacedName.
type FieldLister interface {
	ListByFields(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector, fieldSelector fields.Selector) ([]types.NamespacedName, error)
}

// RunningPods is the field selector of the pods metrics.k8s.io reports.
var RunningPods = fields.OneTermEqualSelector("status.phase", "Running")

// Dynamic lists objects from an API server with a dynamic client, as
// prometheus-adapter does. Only object metadata is used.
type Dynamic struct {
	Client dynamic.Interface
	Mapper apimeta.RESTMapper
}

// List implements Objects.
func (d *Dynamic) List(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]string, error) {
	gvr, err := d.Mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface = d.Client.Resource(gvr)
	if namespace != "" {
		ri = d.Client.Resource(gvr).Namespace(namespace)
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q: %w", gr, namespace, selector, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		names = append(names, it.GetName())
	}
	return names, nil
}

// ListByFields implements FieldLister: the field selector is sent to the
// API server, which supports status.phase for pods.
func (d *Dynamic) ListByFields(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector, fieldSelector fields.Selector) ([]types.NamespacedName, error) {
	gvr, err := d.Mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface = d.Client.Resource(gvr)
	if namespace != "" {
		ri = d.Client.Resource(gvr).Namespace(namespace)
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector.String(), FieldSelector: fieldSelector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q and field selector %q: %w", gr, namespace, selector, fieldSelector, err)
	}
	out := make([]types.NamespacedName, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, types.NamespacedName{Namespace: it.GetNamespace(), Name: it.GetName()})
	}
	return out, nil
}

// Object is one object known to a Static lister.
type Object struct {
	Resource  schema.GroupResource
	Namespace string
	Name      string
	Labels    map[string]string
	// Fields are the values field selectors see, e.g. status.phase:
	// Running for a running pod; metadata.name and metadata.namespace
	// are implied.
	Fields map[string]string
}

// Static is an in-memory Objects: the objects a test or a dry run declares.
// It is safe for concurrent use.
type Static struct {
	mu      sync.RWMutex
	objects []Object
}

// NewStatic returns a Static holding objs.
func NewStatic(objs ...Object) *Static { return &Static{objects: objs} }

// Set replaces the objects.
func (s *Static) Set(objs ...Object) {
	s.mu.Lock()
	s.objects = append([]Object(nil), objs...)
	s.mu.Unlock()
}

// List implements Objects.
func (s *Static) List(_ context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var names []string
	for _, o := range s.objects {
		if o.Resource == gr && (namespace == "" || o.Namespace == namespace) && selector.Matches(labels.Set(o.Labels)) {
			names = append(names, o.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// ListByFields implements FieldLister.
func (s *Static) ListByFields(_ context.Context, gr schema.GroupResource, namespace string, selector labels.Selector, fieldSelector fields.Selector) ([]types.NamespacedName, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []types.NamespacedName
	for _, o := range s.objects {
		if o.Resource != gr || (namespace != "" && o.Namespace != namespace) || !selector.Matches(labels.Set(o.Labels)) {
			continue
		}
		f := fields.Set{"metadata.name": o.Name, "metadata.namespace": o.Namespace}
		for k, v := range o.Fields {
			f[k] = v
		}
		if fieldSelector.Matches(f) {
			out = append(out, types.NamespacedName{Namespace: o.Namespace, Name: o.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
