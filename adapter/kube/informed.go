package kube

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
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
// request for a resource starts its informer and waits for its first sync
// (at most syncWait); a request the cache cannot answer (not synced, e.g.
// watch is forbidden, or a field it does not keep) is answered by a LIST of
// object metadata, so an answer is never staler than the watch. The cached
// objects keep only what a selector can look at (name, namespace, labels
// and, for pods, status.phase), so a large cluster costs little memory; and
// they arrive as protobuf, pods as Pods (for their phase), every other
// resource as metadata only.
type Informed struct {
	ctx      context.Context
	pods     kubernetes.Interface
	metadata metadata.Interface
	mapper   apimeta.RESTMapper

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*informer
}

type informer struct {
	cache.SharedIndexInformer
	// waited is set once a request has waited for the first sync: later
	// ones do not wait again (LIST instead) if the watch does not work.
	waited atomic.Bool
	// waits counts the requests that waited for the first sync (at most
	// one): for tests, which must not time requests.
	waits atomic.Int32
}

// syncWait bounds how long the first request for a resource waits for its
// informer to sync (a LIST of a thousand pods takes well under a second).
const syncWait = 5 * time.Second

// NewInformed returns an Informed of the cluster rc reaches, whose
// informers run until ctx ends.
func NewInformed(ctx context.Context, rc *rest.Config, mapper apimeta.RESTMapper) (*Informed, error) {
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	pc := rest.CopyConfig(rc)
	pc.ContentType = "application/vnd.kubernetes.protobuf"
	pc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	pods, err := kubernetes.NewForConfig(pc)
	if err != nil {
		return nil, err
	}
	return &Informed{
		ctx: ctx, pods: pods, metadata: md, mapper: mapper,
		informers: map[schema.GroupVersionResource]*informer{},
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
func (c *Informed) informer(gr schema.GroupResource) (*informer, schema.GroupVersionResource, error) {
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
	c.informers[gvr] = &informer{SharedIndexInformer: inf}
	go inf.Run(c.ctx.Done())
	return c.informers[gvr], gvr, nil
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
// namespaces if empty), or ok false if the informer has not synced.
func (c *Informed) cached(ctx context.Context, gr schema.GroupResource, namespace string) (objs []any, gvr schema.GroupVersionResource, ok bool, err error) {
	inf, gvr, err := c.informer(gr)
	if err != nil {
		return nil, gvr, false, err
	}
	if !inf.HasSynced() && !inf.waited.Swap(true) {
		inf.waits.Add(1)
		wctx, cancel := context.WithTimeout(ctx, syncWait)
		for !inf.HasSynced() && wctx.Err() == nil {
			select {
			case <-wctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
	}
	if !inf.HasSynced() {
		return nil, gvr, false, nil
	}
	if namespace == "" {
		return inf.GetStore().List(), gvr, true, nil
	}
	objs, err = inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	return objs, gvr, err == nil, err
}

// list asks the API server for the metadata of the objects the selectors
// match (it selects pods by status.phase too).
func (c *Informed) list(ctx context.Context, gvr schema.GroupVersionResource, namespace string, selector labels.Selector, fieldSelector fields.Selector) ([]types.NamespacedName, error) {
	var ri metadata.ResourceInterface = c.metadata.Resource(gvr)
	if namespace != "" {
		ri = c.metadata.Resource(gvr).Namespace(namespace)
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector.String(), FieldSelector: fieldSelector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q and field selector %q: %w", gvr.GroupResource(), namespace, selector, fieldSelector, err)
	}
	out := make([]types.NamespacedName, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, types.NamespacedName{Namespace: it.Namespace, Name: it.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// List implements Objects.
func (c *Informed) List(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]string, error) {
	objs, gvr, ok, err := c.cached(ctx, gr, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q: %w", gr, namespace, selector, err)
	}
	if !ok {
		refs, err := c.list(ctx, gvr, namespace, selector, fields.Everything())
		names := make([]string, len(refs))
		for i, r := range refs {
			names[i] = r.Name
		}
		sort.Strings(names)
		return names, err
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
	objs, gvr, ok, err := c.cached(ctx, gr, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %q with selector %q: %w", gr, namespace, selector, err)
	}
	for _, r := range fieldSelector.Requirements() {
		ok = ok && cachedFields[r.Field]
	}
	if !ok {
		return c.list(ctx, gvr, namespace, selector, fieldSelector)
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
