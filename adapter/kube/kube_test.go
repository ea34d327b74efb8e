package kube

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

func pod(ns, name string, lbls map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Pod")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(lbls)
	return u
}

func TestDynamicListsBySelector(t *testing.T) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{{Version: "v1", Resource: "pods"}: "PodList"},
		pod("shop", "web-1", map[string]string{"app": "web"}),
		pod("shop", "web-2", map[string]string{"app": "web"}),
		pod("shop", "db-1", map[string]string{"app": "db"}),
		pod("other", "web-9", map[string]string{"app": "web"}),
	)
	d := &Dynamic{Client: client, Mapper: StaticMapper()}
	sel, _ := labels.Parse("app=web")
	names, err := d.List(context.Background(), schema.GroupResource{Resource: "pods"}, "shop", sel)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "web-1,web-2" {
		t.Errorf("names: %v", names)
	}
	all, err := d.List(context.Background(), schema.GroupResource{Resource: "pods"}, "", sel)
	if err != nil || len(all) != 3 {
		t.Errorf("all namespaces: %v %v", all, err)
	}
	if _, err := d.List(context.Background(), schema.GroupResource{Resource: "frobs"}, "shop", sel); err == nil {
		t.Errorf("unknown resource listed")
	}
}

func TestStatic(t *testing.T) {
	s := NewStatic(Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: "a", Name: "p2", Labels: map[string]string{"x": "1"}},
		Object{Resource: schema.GroupResource{Resource: "pods"}, Namespace: "a", Name: "p1", Labels: map[string]string{"x": "1"}},
		Object{Resource: schema.GroupResource{Resource: "nodes"}, Name: "n1"})
	sel, _ := labels.Parse("x=1")
	names, _ := s.List(context.Background(), schema.GroupResource{Resource: "pods"}, "a", sel)
	if strings.Join(names, ",") != "p1,p2" {
		t.Errorf("names: %v", names)
	}
	s.Set()
	if names, _ := s.List(context.Background(), schema.GroupResource{Resource: "pods"}, "a", labels.Everything()); len(names) != 0 {
		t.Errorf("after Set(): %v", names)
	}
}

func TestStaticMapper(t *testing.T) {
	m := StaticMapper()
	for in, want := range map[string]string{"pod": "pods", "deployment": "deployments.apps", "ingresses": "ingresses.networking.k8s.io", "namespace": "namespaces", "hpa": ""} {
		gvr, err := m.ResourceFor(schema.ParseGroupResource(in).WithVersion(""))
		got := gvr.GroupResource().String()
		if err != nil {
			got = ""
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	if s, err := m.ResourceSingularizer("statefulsets"); err != nil || s != "statefulset" {
		t.Errorf("singular: %q %v", s, err)
	}
}

func TestListByFields(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	running := map[string]string{"status.phase": "Running"}
	s := NewStatic(
		Object{Resource: pods, Namespace: "b", Name: "p1", Labels: map[string]string{"x": "1"}, Fields: running},
		Object{Resource: pods, Namespace: "a", Name: "p1", Labels: map[string]string{"x": "1"}, Fields: running},
		Object{Resource: pods, Namespace: "a", Name: "done", Labels: map[string]string{"x": "1"}, Fields: map[string]string{"status.phase": "Succeeded"}},
		Object{Resource: pods, Namespace: "a", Name: "new", Labels: map[string]string{"x": "1"}},
	)
	str := func(refs []types.NamespacedName) string {
		var out []string
		for _, r := range refs {
			out = append(out, r.String())
		}
		return strings.Join(out, ",")
	}
	all, _ := s.ListByFields(context.Background(), pods, "", labels.Everything(), RunningPods)
	if got := str(all); got != "a/p1,b/p1" {
		t.Errorf("running, all namespaces: %s", got)
	}
	one, _ := s.ListByFields(context.Background(), pods, "a", labels.Everything(), fields.AndSelectors(RunningPods, fields.OneTermEqualSelector("metadata.name", "done")))
	if len(one) != 0 {
		t.Errorf("a pod that is not running: %v", one)
	}
	every, _ := s.ListByFields(context.Background(), pods, "a", labels.Everything(), fields.Everything())
	if got := str(every); got != "a/done,a/new,a/p1" {
		t.Errorf("no field selector: %s", got)
	}

	// Dynamic sends the field selector to the API server.
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{{Version: "v1", Resource: "pods"}: "PodList"},
		pod("shop", "web-1", map[string]string{"app": "web"}))
	var sent string
	client.PrependReactor("list", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sent = a.(clienttesting.ListAction).GetListRestrictions().Fields.String()
		return false, nil, nil
	})
	d := &Dynamic{Client: client, Mapper: StaticMapper()}
	refs, err := d.ListByFields(context.Background(), pods, "shop", labels.Everything(), RunningPods)
	if err != nil || sent != "status.phase=Running" || str(refs) != "shop/web-1" {
		t.Errorf("dynamic: sent %q, got %v %v", sent, refs, err)
	}
}
