package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatescale/gatescale/test/e2e/kubelet"
)

type fakeProcess struct {
	stopped atomic.Bool
}

func (f *fakeProcess) Ready() bool { return true }
func (f *fakeProcess) Stop()       { f.stopped.Store(true) }

func int32p(v int32) *int32 { return &v }

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestControlPlaneAndKubelet: the real deployment and replicaset controllers
// create pods, the process-kubelet starts a process for each and marks it
// Running and Ready; scaling in terminates exactly one process.
func TestControlPlaneAndKubelet(t *testing.T) {
	c := startCluster(t, clusterOptions())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := "kubelet-test"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "default service account", func() bool {
		_, err := c.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	var mu sync.Mutex
	procs := map[string]*fakeProcess{}
	k := &kubelet.Kubelet{Client: c.Client, Namespace: ns, Selector: "app=web",
		Start: func(ctx context.Context, pod *corev1.Pod) (kubelet.Process, error) {
			p := &fakeProcess{}
			mu.Lock()
			procs[pod.Name] = p
			mu.Unlock()
			return p, nil
		}}
	go func() { _ = k.Run(ctx) }()

	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: int32p(2), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "none"}}}}}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := func(n int) func() bool {
		return func() bool {
			d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && d.Status.ReadyReplicas == int32(n) && len(k.Pods()) == n
		}
	}
	waitFor(t, 60*time.Second, "2 ready replicas", ready(2))

	scale, err := c.Client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 1
	if _, err := c.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "1 ready replica", ready(1))
	waitFor(t, 10*time.Second, "one process stopped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, p := range procs {
			if p.stopped.Load() {
				n++
			}
		}
		return n == 1 && len(procs) == 2
	})
}
