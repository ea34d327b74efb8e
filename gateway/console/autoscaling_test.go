package console

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The view takes the first per-pod metric of the spec and the current value
// of the same metric from the status; bounds and replicas as they are.
func TestHPAView(t *testing.T) {
	two, q := int32(2), func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gatescale", Name: "gatescale"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &two, MaxReplicas: 10, Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "gatescale_requests_per_second"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("45")}}},
		}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "other"},
				Current: autoscalingv2.MetricValueStatus{AverageValue: q("99")}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "gatescale_requests_per_second"},
				Current: autoscalingv2.MetricValueStatus{AverageValue: q("36500m")}}},
		}},
	}
	want := Autoscaling{HPA: "gatescale/gatescale", CurrentReplicas: 3, DesiredReplicas: 3, MinReplicas: 2, MaxReplicas: 10, QPSPerPod: 36.5, TargetQPSPerPod: 45}
	if got := hpaView(h); got != want {
		t.Fatalf("view %+v, want %+v", got, want)
	}
}
