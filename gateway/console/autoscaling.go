package console

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// HPA returns an Options.Autoscaling that reads the HorizontalPodAutoscaler
// namespace/name through the Kubernetes API: its replicas and the per-pod
// value of its first Pods (or External, averaged) metric against its
// target — what the HPA itself last read, not a second computation.
// cmd/gatescale checks once at start that the HPA can be read and hides
// the view otherwise.
func HPA(client kubernetes.Interface, namespace, name string) func(context.Context) (Autoscaling, error) {
	return func(ctx context.Context) (Autoscaling, error) {
		h, err := client.AutoscalingV2().HorizontalPodAutoscalers(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Autoscaling{}, err
		}
		return hpaView(h), nil
	}
}

func hpaView(h *autoscalingv2.HorizontalPodAutoscaler) Autoscaling {
	a := Autoscaling{
		HPA:             fmt.Sprintf("%s/%s", h.Namespace, h.Name),
		CurrentReplicas: int(h.Status.CurrentReplicas),
		DesiredReplicas: int(h.Status.DesiredReplicas),
		MaxReplicas:     int(h.Spec.MaxReplicas),
		MinReplicas:     1,
	}
	if h.Spec.MinReplicas != nil {
		a.MinReplicas = int(*h.Spec.MinReplicas)
	}
	// The metric: the first per-pod one in the spec, its current value
	// from the status entry of the same kind and name.
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil && m.Pods.Target.AverageValue != nil:
			a.TargetQPSPerPod = m.Pods.Target.AverageValue.AsApproximateFloat64()
			for _, s := range h.Status.CurrentMetrics {
				if s.Type == m.Type && s.Pods != nil && s.Pods.Metric.Name == m.Pods.Metric.Name && s.Pods.Current.AverageValue != nil {
					a.QPSPerPod = s.Pods.Current.AverageValue.AsApproximateFloat64()
				}
			}
			return a
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil && m.External.Target.AverageValue != nil:
			a.TargetQPSPerPod = m.External.Target.AverageValue.AsApproximateFloat64()
			for _, s := range h.Status.CurrentMetrics {
				if s.Type == m.Type && s.External != nil && s.External.Metric.Name == m.External.Metric.Name && s.External.Current.AverageValue != nil {
					a.QPSPerPod = s.External.Current.AverageValue.AsApproximateFloat64()
				}
			}
			return a
		}
	}
	return a
}
