package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/test/e2e/cluster"
)

// startCluster starts a real kube-apiserver (and etcd) from .cache/kube, or
// skips (fails with GATESCALE_REQUIRE_REAL) without one.
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Dir: t.TempDir(), BinDir: filepath.Join(root, ".cache", "kube")})
	if err != nil {
		if os.Getenv(promtest.RequireRealEnv) != "" {
			t.Fatalf("control plane not available (hack/build-kube.sh, hack/install-debs.sh etcd-server): %v", err)
		}
		t.Skipf("control plane not available: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// eventually retries check until it returns "" or 30 s pass.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInformedFollowsTheCluster(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pods := c.Client.CoreV1().Pods("shop")
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	newPod := func(name, app string) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app},
			Annotations: map[string]string{"big": strings.Repeat("x", 4096)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	newPod("web-1", "web")
	newPod("db-1", "db")

	inf, err := NewInformed(ctx, c.RESTConfig, StaticMapper())
	if err != nil {
		t.Fatal(err)
	}
	podsGR := schema.GroupResource{Resource: "pods"}
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	// The first request waits for the informer's first sync.
	names, err := inf.List(ctx, podsGR, "shop", web)
	if err != nil || !slices.Equal(names, []string{"web-1"}) {
		t.Fatalf("first list: %v %v", names, err)
	}
	if !inf.informers[podsGR.WithVersion("v1")].HasSynced() {
		t.Fatal("the first request did not wait for the pod informer to sync")
	}
	syncCtx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	if !inf.WaitForSync(syncCtx) {
		t.Fatal("the pod informer did not sync")
	}
	list := func(sel labels.Selector, want ...string) func() string {
		return func() string {
			got, err := inf.List(ctx, podsGR, "shop", sel)
			if err != nil {
				return err.Error()
			}
			if !slices.Equal(got, want) {
				return "got " + strings.Join(got, ",") + ", want " + strings.Join(want, ",")
			}
			return ""
		}
	}
	eventually(t, "synced", list(web, "web-1"))
	// The cache keeps only what selectors look at.
	for _, o := range inf.informers[podsGR.WithVersion("v1")].GetStore().List() {
		if o, ok := o.(*object); !ok || len(o.Annotations) != 0 || o.Labels["app"] == "" {
			t.Fatalf("cached object not stripped: %#v", o)
		}
	}

	newPod("web-2", "web")
	eventually(t, "a created pod", list(web, "web-1", "web-2"))

	p, err := pods.Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["app"] = "web"
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a relabelled pod", list(web, "db-1", "web-1", "web-2"))
	eventually(t, "the old label", list(labels.SelectorFromSet(labels.Set{"app": "db"})))

	if err := pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted pod", list(web, "db-1", "web-2"))
	eventually(t, "all namespaces", func() string {
		got, err := inf.List(ctx, podsGR, "", labels.Everything())
		if err != nil || !slices.Equal(got, []string{"db-1", "web-2"}) {
			return "got " + strings.Join(got, ",")
		}
		return ""
	})

	// Phase, as metrics.k8s.io selects Running pods.
	p, err = pods.Get(ctx, "web-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a running pod", func() string {
		got, err := inf.ListByFields(ctx, podsGR, "shop", labels.Everything(), RunningPods)
		if err != nil || !slices.Equal(got, []types.NamespacedName{{Namespace: "shop", Name: "web-2"}}) {
			return "got " + fmtRefs(got)
		}
		return ""
	})
	// A field the cache does not keep is asked of the API server.
	got, err := inf.ListByFields(ctx, podsGR, "shop", labels.Everything(), fields.OneTermEqualSelector("spec.nodeName", ""))
	if err != nil || len(got) != 2 {
		t.Errorf("spec.nodeName (by the API server): %v %v", got, err)
	}
	// A user who may list pods but not watch them still gets right answers
	// (the informer relists when its watch fails); one who may not even
	// list services waits for their informer's sync once (at most
	// syncWait), then gets the API server's refusal at once.
	if _, err := c.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "list-pods"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "list-pods"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "list-pods"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "gatescale-adapter"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfigs["adapter"])
	if err != nil {
		t.Fatal(err)
	}
	listOnly, err := NewInformed(ctx, rc, StaticMapper())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "LIST without watch", func() string {
		got, err := listOnly.List(ctx, podsGR, "shop", web)
		if err != nil || !slices.Equal(got, []string{"db-1", "web-2"}) {
			return fmt.Sprintf("got %v %v", got, err)
		}
		return ""
	})
	if got, err := listOnly.ListByFields(ctx, podsGR, "shop", labels.Everything(), RunningPods); err != nil || fmtRefs(got) != "shop/web-2" {
		t.Errorf("running pods without watch: %v %v", got, err)
	}
	services := schema.GroupResource{Resource: "services"}
	if _, err := listOnly.List(ctx, services, "shop", labels.Everything()); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("services the user may not list: %v", err)
	}
	if _, err := listOnly.List(ctx, services, "shop", labels.Everything()); err == nil {
		t.Errorf("services the user may not list: no error")
	}
	// The first request waited (at most syncWait) for a sync that cannot
	// happen; the second asked the API server at once.
	svcInf, _, err := listOnly.informer(services)
	if err != nil {
		t.Fatal(err)
	}
	if n := svcInf.waits.Load(); n != 1 || svcInf.HasSynced() {
		t.Errorf("%d requests waited for the services' sync (synced: %v), want 1 (not synced)", n, svcInf.HasSynced())
	}

	// Another resource starts its own informer on first use.
	ns, err := inf.List(ctx, schema.GroupResource{Resource: "namespaces"}, "", labels.Everything())
	if err != nil || !slices.Contains(ns, "shop") {
		t.Errorf("namespaces: %v %v", ns, err)
	}
	if _, err := inf.List(ctx, schema.GroupResource{Resource: "frobs"}, "shop", web); err == nil {
		t.Errorf("an unknown resource was listed")
	}
}

func fmtRefs(refs []types.NamespacedName) string {
	var out []string
	for _, r := range refs {
		out = append(out, r.String())
	}
	return strings.Join(out, " ")
}
