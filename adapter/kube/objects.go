package kube

import (
	"context"
	"fmt"
	"sort"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// Object is one object known to a Static lister.
type Object struct {
	Resource  schema.GroupResource
	Namespace string
	Name      string
	Labels    map[string]string
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
