package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Process is one running pod's process.
type Process interface {
	// Ready reports whether the process serves (its readiness probe).
	Ready() bool
	// Stop sends SIGTERM and waits for the process to exit.
	Stop()
}

// Pod is a running pod as the harness sees it.
type Pod struct {
	Name    string
	Process Process
	Started time.Time
	Ready   bool
}

// Kubelet runs processes for the pods of Namespace matching Selector.
type Kubelet struct {
	Client    kubernetes.Interface
	Namespace string
	Selector  string
	// Start starts the process of pod.
	Start func(ctx context.Context, pod *corev1.Pod) (Process, error)
	// OnChange is called with the pods that have a process whenever that
	// set or a pod's readiness changes (scrape targets, load targets).
	OnChange func(pods []Pod)
	Logger   *slog.Logger

	mu   sync.Mutex
	pods map[string]*Pod
}

// Run serves pods until ctx ends, then stops every process.
func (k *Kubelet) Run(ctx context.Context) error {
	if k.Logger == nil {
		k.Logger = slog.Default()
	}
	k.pods = map[string]*Pod{}
	lw := cache.NewFilteredListWatchFromClient(k.Client.CoreV1().RESTClient(), "pods", k.Namespace,
		func(o *metav1.ListOptions) {
			o.LabelSelector = k.Selector
			o.FieldSelector = fields.Everything().String()
		})
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	store, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &corev1.Pod{}, ResyncPeriod: 0,
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: func(any) { poke() }, UpdateFunc: func(any, any) { poke() }, DeleteFunc: func(any) { poke() }},
	})
	go ctrl.RunWithContext(ctx)
	tick := time.NewTicker(200 * time.Millisecond) // readiness of starting processes
	defer tick.Stop()
	defer k.stopAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
		k.sync(ctx, store.List())
	}
}

func (k *Kubelet) sync(ctx context.Context, objs []any) {
	seen := map[string]bool{}
	notify := false
	for _, o := range objs {
		pod := o.(*corev1.Pod)
		seen[pod.Name] = true
		k.mu.Lock()
		p := k.pods[pod.Name]
		k.mu.Unlock()
		switch {
		case pod.DeletionTimestamp != nil:
			if p != nil {
				notify = true
				k.terminate(ctx, pod, p)
			} else {
				k.finalize(ctx, pod) // never started, or already stopped: just remove it
			}
		case p == nil:
			proc, err := k.Start(ctx, pod)
			if err != nil {
				k.Logger.Error("kubelet: cannot start pod", "pod", pod.Name, "err", err)
				continue
			}
			k.mu.Lock()
			k.pods[pod.Name] = &Pod{Name: pod.Name, Process: proc, Started: time.Now()}
			k.mu.Unlock()
			notify = true
		case !p.Ready && p.Process.Ready():
			if err := k.markReady(ctx, pod, p.Started); err != nil {
				k.Logger.Error("kubelet: cannot mark pod ready", "pod", pod.Name, "err", err)
				continue
			}
			k.mu.Lock()
			p.Ready = true
			k.mu.Unlock()
			notify = true
		}
	}
	// Pods deleted outright (grace 0) lose their process too.
	k.mu.Lock()
	for name, p := range k.pods {
		if !seen[name] {
			delete(k.pods, name)
			go p.Process.Stop()
			notify = true
		}
	}
	k.mu.Unlock()
	if notify && k.OnChange != nil {
		k.OnChange(k.Pods())
	}
}

// Pods returns the pods that have a process, by name.
func (k *Kubelet) Pods() []Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Pod, 0, len(k.pods))
	for _, p := range k.pods {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// markReady sets the status a kubelet reports for a running, ready pod.
func (k *Kubelet) markReady(ctx context.Context, pod *corev1.Pod, started time.Time) error {
	now := metav1.Now()
	st := metav1.NewTime(started)
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.StartTime = &st
	pod.Status.Conditions = nil
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		started := true
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: st}},
		})
	}
	_, err := k.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// terminate drains the pod's process (SIGTERM), then removes the pod.
func (k *Kubelet) terminate(ctx context.Context, pod *corev1.Pod, p *Pod) {
	k.mu.Lock()
	delete(k.pods, pod.Name)
	k.mu.Unlock()
	go func() {
		p.Process.Stop()
		k.finalize(ctx, pod)
	}()
}

func (k *Kubelet) finalize(ctx context.Context, pod *corev1.Pod) {
	zero := int64(0)
	err := k.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil && ctx.Err() == nil {
		k.Logger.Debug("kubelet: finalize pod", "pod", pod.Name, "err", err)
	}
}

func (k *Kubelet) stopAll() {
	k.mu.Lock()
	pods := k.pods
	k.pods = map[string]*Pod{}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		go func() { defer wg.Done(); p.Process.Stop() }()
	}
	wg.Wait()
}

// String describes the pods, for logs.
func (p Pod) String() string { return fmt.Sprintf("%s(ready=%t)", p.Name, p.Ready) }
