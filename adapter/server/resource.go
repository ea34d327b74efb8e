package server

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsinstall "k8s.io/metrics/pkg/apis/metrics/install"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
)

// ResourceProvider serves metrics.k8s.io: CPU and memory of pods (per
// container) and nodes. names, when given, are the objects asked for by
// name; otherwise the objects matching selector are listed.
type ResourceProvider interface {
	PodMetrics(ctx context.Context, namespace string, selector labels.Selector, names []string) ([]metrics.PodMetrics, error)
	NodeMetrics(ctx context.Context, selector labels.Selector, names []string) ([]metrics.NodeMetrics, error)
}

var installOnce sync.Once

// installResourceScheme adds the metrics.k8s.io types to the scheme that
// custom-metrics-apiserver's server encodes with.
func installResourceScheme() {
	installOnce.Do(func() { metricsinstall.Install(apiserver.Scheme) })
}

// installResourceAPI installs metrics.k8s.io v1beta1 (what the HPA and
// kubectl top read) and v1, both from the same storage.
func installResourceAPI(s *genericapiserver.GenericAPIServer, p ResourceProvider) error {
	info := genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, apiserver.Scheme, metav1.ParameterCodec, apiserver.Codecs)
	storage := map[string]rest.Storage{
		"nodes": &nodeStorage{p: p, TableConvertor: rest.NewDefaultTableConvertor(metrics.Resource("nodes"))},
		"pods":  &podStorage{p: p, TableConvertor: rest.NewDefaultTableConvertor(metrics.Resource("pods"))},
	}
	info.VersionedResourcesStorageMap[v1beta1.SchemeGroupVersion.Version] = storage
	info.VersionedResourcesStorageMap[metricsv1.SchemeGroupVersion.Version] = storage
	return s.InstallAPIGroup(&info)
}

type podStorage struct {
	p ResourceProvider
	rest.TableConvertor
}

var (
	_ rest.Getter               = &podStorage{}
	_ rest.Lister               = &podStorage{}
	_ rest.Scoper               = &podStorage{}
	_ rest.SingularNameProvider = &podStorage{}
	_ rest.KindProvider         = &podStorage{}
)

func (s *podStorage) New() runtime.Object      { return &metrics.PodMetrics{} }
func (s *podStorage) NewList() runtime.Object  { return &metrics.PodMetricsList{} }
func (s *podStorage) Destroy()                 {}
func (s *podStorage) Kind() string             { return "PodMetrics" }
func (s *podStorage) NamespaceScoped() bool    { return true }
func (s *podStorage) GetSingularName() string  { return "pod" }
func (s *nodeStorage) New() runtime.Object     { return &metrics.NodeMetrics{} }
func (s *nodeStorage) NewList() runtime.Object { return &metrics.NodeMetricsList{} }
func (s *nodeStorage) Destroy()                {}
func (s *nodeStorage) Kind() string            { return "NodeMetrics" }
func (s *nodeStorage) NamespaceScoped() bool   { return false }
func (s *nodeStorage) GetSingularName() string { return "node" }
func selectorOf(o *metainternalversion.ListOptions) labels.Selector {
	if o != nil && o.LabelSelector != nil {
		return o.LabelSelector
	}
	return labels.Everything()
}

// matchesFields applies a list's field selector (kubectl top
// --field-selector) to an item's metadata.name and, for namespaced
// objects, metadata.namespace, as metrics-server does.
func matchesFields(o *metainternalversion.ListOptions, meta *metav1.ObjectMeta, namespaced bool) bool {
	if o == nil || o.FieldSelector == nil || o.FieldSelector.Empty() {
		return true
	}
	return o.FieldSelector.Matches(generic.AddObjectMetaFieldsSet(fields.Set{}, meta, namespaced))
}

func (s *podStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	items, err := s.p.PodMetrics(ctx, ns, labels.Everything(), []string{name})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, apierrors.NewNotFound(metrics.Resource("pods"), name)
	}
	return &items[0], nil
}

func (s *podStorage) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	items, err := s.p.PodMetrics(ctx, genericapirequest.NamespaceValue(ctx), selectorOf(o), nil)
	if err != nil {
		return nil, err
	}
	out := []metrics.PodMetrics{} // "items": [], as Kubernetes sends
	for i := range items {
		if matchesFields(o, &items[i].ObjectMeta, true) {
			out = append(out, items[i])
		}
	}
	return &metrics.PodMetricsList{Items: out}, nil
}

type nodeStorage struct {
	p ResourceProvider
	rest.TableConvertor
}

var (
	_ rest.Getter = &nodeStorage{}
	_ rest.Lister = &nodeStorage{}
)

func (s *nodeStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	items, err := s.p.NodeMetrics(ctx, labels.Everything(), []string{name})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, apierrors.NewNotFound(metrics.Resource("nodes"), name)
	}
	return &items[0], nil
}

func (s *nodeStorage) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	items, err := s.p.NodeMetrics(ctx, selectorOf(o), nil)
	if err != nil {
		return nil, err
	}
	out := []metrics.NodeMetrics{}
	for i := range items {
		if matchesFields(o, &items[i].ObjectMeta, false) {
			out = append(out, items[i])
		}
	}
	return &metrics.NodeMetricsList{Items: out}, nil
}

// resourceOpenAPIDefinitions describes the metrics.k8s.io types, which
// k8s.io/metrics ships without OpenAPI definitions; the API server needs
// them to install the group.
func resourceOpenAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	out := map[string]common.OpenAPIDefinition{}
	for _, v := range []struct {
		container, node, nodeList, pod, podList string
	}{
		{v1beta1.ContainerMetrics{}.OpenAPIModelName(), v1beta1.NodeMetrics{}.OpenAPIModelName(), v1beta1.NodeMetricsList{}.OpenAPIModelName(), v1beta1.PodMetrics{}.OpenAPIModelName(), v1beta1.PodMetricsList{}.OpenAPIModelName()},
		{metricsv1.ContainerMetrics{}.OpenAPIModelName(), metricsv1.NodeMetrics{}.OpenAPIModelName(), metricsv1.NodeMetricsList{}.OpenAPIModelName(), metricsv1.PodMetrics{}.OpenAPIModelName(), metricsv1.PodMetricsList{}.OpenAPIModelName()},
	} {
		str := func(desc string) spec.Schema {
			return spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Type: []string{"string"}}}
		}
		refTo := func(name, desc string) spec.Schema {
			return spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Ref: ref(name)}}
		}
		quantity := resource.Quantity{}.OpenAPIModelName()
		objectMeta, listMeta := metav1.ObjectMeta{}.OpenAPIModelName(), metav1.ListMeta{}.OpenAPIModelName()
		timeName, durationName := metav1.Time{}.OpenAPIModelName(), metav1.Duration{}.OpenAPIModelName()
		obj := func(desc string, props map[string]spec.Schema, required []string, deps ...string) common.OpenAPIDefinition {
			props["kind"] = str("Kind is a string value representing the REST resource this object represents.")
			props["apiVersion"] = str("APIVersion defines the versioned schema of this representation of an object.")
			return common.OpenAPIDefinition{Schema: spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Type: []string{"object"}, Properties: props, Required: required}}, Dependencies: deps}
		}
		array := func(of, desc string) spec.Schema {
			return spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Type: []string{"array"}, Items: &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(of)}}}}}
		}
		out[v.container] = common.OpenAPIDefinition{Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Description: "ContainerMetrics sets resource usage metrics of a container.",
			Type:        []string{"object"},
			Required:    []string{"name", "usage"},
			Properties: map[string]spec.Schema{
				"name": str("Container name corresponding to the one from pod.spec.containers."),
				"usage": {SchemaProps: spec.SchemaProps{Description: "The memory usage is the memory working set.", Type: []string{"object"},
					AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(quantity)}}}}},
			},
		}}, Dependencies: []string{quantity}}
		out[v.node] = obj("NodeMetrics sets resource usage metrics of a node.", map[string]spec.Schema{
			"metadata":  refTo(objectMeta, "Standard object's metadata."),
			"timestamp": refTo(timeName, "The end of the interval the metrics were collected from."),
			"window":    refTo(durationName, "The length of that interval."),
			"usage": {SchemaProps: spec.SchemaProps{Description: "The memory usage is the memory working set.", Type: []string{"object"},
				AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(quantity)}}}}},
		}, []string{"timestamp", "window", "usage"}, objectMeta, timeName, durationName, quantity)
		out[v.nodeList] = obj("NodeMetricsList is a list of NodeMetrics.", map[string]spec.Schema{
			"metadata": refTo(listMeta, "Standard list metadata."),
			"items":    array(v.node, "List of node metrics."),
		}, []string{"items"}, listMeta, v.node)
		out[v.pod] = obj("PodMetrics sets resource usage metrics of a pod.", map[string]spec.Schema{
			"metadata":   refTo(objectMeta, "Standard object's metadata."),
			"timestamp":  refTo(timeName, "The end of the interval the metrics were collected from."),
			"window":     refTo(durationName, "The length of that interval."),
			"containers": array(v.container, "Metrics for all containers, collected within the same time window."),
		}, []string{"timestamp", "window", "containers"}, objectMeta, timeName, durationName, v.container)
		out[v.podList] = obj("PodMetricsList is a list of PodMetrics.", map[string]spec.Schema{
			"metadata": refTo(listMeta, "Standard list metadata."),
			"items":    array(v.pod, "List of pod metrics."),
		}, []string{"items"}, listMeta, v.pod)
	}
	return out
}
