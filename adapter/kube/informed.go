package kube

import (
	"context"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Informed lists objects from watch-fed caches (client-go shared informers)
// instead of asking the API server on every request: the HPA asks for the
// same pods every sync period, and a LIST of a thousand pods through the
// API server costs more than the Prometheus query it feeds. The first
// request for a resource starts its informer; until the informer has
// synced, requests are answered by a LIST (Dynamic), so an answer is never
// staler than the watch. The cached objects keep only what a selector can
// look at (name, namespace, labels and, for pods, status.phase), so a large
// cluster costs little memory; and they arrive as protobuf, pods as Pods
// (for their phase), every other resource as metadata only.
type Informed struct {
	ctx      context.Context
	pods     kubernetes.Interface
	metadata metadata.Interface
	mapper   apimeta.RESTMapper
	fallback *Dynamic

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
}

// NewInformed returns an Informed of the cluster rc reaches, whose
// informers run until ctx ends.
func NewInformed(ctx context.Context, rc *rest.Config, mapper apimeta.RESTMapper) (*Informed, error) {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	pc := rest.CopyConfig(rc)
	pc.ContentType = "application/vnd.kubernetes.protobuf"
	pods, err := kubernetes.NewForConfig(pc)
	if err != nil {
		return nil, err
	}
	return &Informed{
		ctx: ctx, pods: pods, metadata: md, mapper: mapper,
		fallback:  &Dynamic{Client: dyn, Mapper: mapper},
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
	}, nil
}

// WaitForSync waits until the informers started so far have synced or ctx
// ends, and reports whether they synced.
func (c *Informed) WaitForSync(ctx context.Context) bool {
	c.mu.Lock()
	var synced []cache.InformerSynced
	for _, inf := range c.informers {
		synced = append(synced, inf.HasSynced)
	}
	c.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// informer returns gr's informer, starting it if it is the first request.
func (c *Informed) informer(gr schema.GroupResource) (cache.SharedIndexInformer, schema.GroupVersionResource, error) {
	gvr, err := c.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return nil, gvr, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if inf, ok := c.informers[gvr]; ok {
		return inf, gvr, nil
	}
	indexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	var inf cache.SharedIndexInformer
	if gvr.GroupResource() == podsGR {
		inf = coreinformers.NewPodInformer(c.pods, metav1.NamespaceAll, 0, indexers)
	} else {
		inf = metadatainformer.NewFilteredMetadataInformer(c.metadata, gvr, metav1.NamespaceAll, 0, indexers, nil).Informer()
	}
	if err := inf.SetTransform(strip); err != nil {
		return nil, gvr, err
	}
	c.informers[gvr] = inf
	go inf.Run(c.ctx.Done())
	return inf, gvr, nil
}

// object is what the cache keeps of an object: what a label or field
// selector can look at (name, namespace, labels and, for pods,
// status.phase).
type object struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	phase string
}

func (o *object) DeepCopyObject() runtime.Object {
	c := *o
	o.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

var podsGR = schema.GroupResource{Resource: "pods"}

// strip turns a listed or watched object into an object.
func strip(obj any) (any, error) {
	var o object
	switch v := obj.(type) {
	case *corev1.Pod:
		o.ObjectMeta, o.phase = v.ObjectMeta, string(v.Status.Phase)
	case *metav1.PartialObjectMetadata:
		o.ObjectMeta = v.ObjectMeta
	default:
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	m := &o.ObjectMeta
	*m = metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, ResourceVersion: m.ResourceVersion, UID: m.UID}
	return &o, nil
}

// cached returns the synced cache's objects of gr in namespace (all
// namespaces if empty), or ok false while the informer has not synced.
func (c *Informed) cached(gr schema.GroupResource, namespace string) (objs []any, ok bool, err error) {
	inf, _, err := c.informer(gr)
	if err != nil {
		return nil, false, err
	}
	if !inf.HasSynced() {
		return nil, false, nil
	}
	if namespace == "" {
		return inf.GetStore().List(), true, nil
	}
	objs, err = inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	return objs, err == nil, err
}

// List implements Objects.
func (c *Informed) List(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]string, error) {
	objs, ok, err := c.cached(gr, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q: %w", gr, namespace, selector, err)
	}
	if !ok {
		return c.fallback.List(ctx, gr, namespace, selector)
	}
	var names []string
	for _, o := range objs {
		if o, ok := o.(*object); ok && selector.Matches(labels.Set(o.Labels)) {
			names = append(names, o.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// cachedFields are the fields the cache keeps; a field selector on any
// other goes to the API server.
var cachedFields = map[string]bool{"metadata.name": true, "metadata.namespace": true, "status.phase": true}

// ListByFields implements FieldLister.
func (c *Informed) ListByFields(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector, fieldSelector fields.Selector) ([]types.NamespacedName, error) {
	for _, r := range fieldSelector.Requirements() {
		if !cachedFields[r.Field] {
			return c.fallback.ListByFields(ctx, gr, namespace, selector, fieldSelector)
		}
	}
	objs, ok, err := c.cached(gr, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q: %w", gr, namespace, selector, err)
	}
	if !ok {
		return c.fallback.ListByFields(ctx, gr, namespace, selector, fieldSelector)
	}
	var out []types.NamespacedName
	for _, o := range objs {
		o, ok := o.(*object)
		if !ok || !selector.Matches(labels.Set(o.Labels)) {
			continue
		}
		f := fields.Set{"metadata.name": o.Name, "metadata.namespace": o.Namespace}
		if o.phase != "" {
			f["status.phase"] = o.phase
		}
		if fieldSelector.Matches(f) {
			out = append(out, types.NamespacedName{Namespace: o.Namespace, Name: o.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
