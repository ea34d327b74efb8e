package hpasim

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

const paperHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: gatescale}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: gatescale}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Pods
    pods:
      metric: {name: gatescale_requests_per_second}
      target: {type: AverageValue, averageValue: "45"}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 30}
`

func parse(t *testing.T, s string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := yaml.UnmarshalStrict([]byte(s), &hpa); err != nil {
		t.Fatal(err)
	}
	return &hpa
}

// ramp returns samples every second from 0 to peak over rampFor, held for
// holdFor, then 0.
func ramp(peak float64, rampFor, holdFor time.Duration) []Sample {
	var s []Sample
	for t := time.Duration(0); t < rampFor; t += time.Second {
		s = append(s, Sample{t, peak * float64(t) / float64(rampFor)})
	}
	s = append(s, Sample{rampFor, peak}, Sample{rampFor + holdFor, 0})
	return s
}

// The paper's run: 110 QPS at 45 per pod takes 2 replicas to 3 and back.
func TestPaperScenario(t *testing.T) {
	steps, err := Simulate(parse(t, paperHPA), ramp(110, 60*time.Second, 120*time.Second), Options{SyncPeriod: 5 * time.Second, Until: 300 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	maxR, upAt, downAt := 0, time.Duration(-1), time.Duration(-1)
	for _, s := range steps {
		if s.Desired > maxR {
			maxR = s.Desired
		}
		if s.Desired == 3 && upAt < 0 {
			upAt = s.At
		}
		if upAt >= 0 && s.Desired == 2 && downAt < 0 {
			downAt = s.At
		}
	}
	if maxR != 3 {
		t.Fatalf("peak replicas %d, want 3", maxR)
	}
	// Per pod crosses 45 × 1.1 (the tolerance) at 99 QPS total: 54 s into the ramp.
	if upAt < 50*time.Second || upAt > 60*time.Second {
		t.Errorf("scaled up at %v, want between 50s and 60s", upAt)
	}
	// Load stops at 180 s; with a 30 s scale-down window the HPA goes back at 210-215 s.
	if downAt < 210*time.Second || downAt > 215*time.Second {
		t.Errorf("scaled down at %v, want 210-215s", downAt)
	}
}

func TestPoliciesLimitTheRate(t *testing.T) {
	hpa := parse(t, paperHPA)
	one := autoscalingv2.MaxChangePolicySelect
	hpa.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{SelectPolicy: &one,
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}
	// A step to 450 QPS wants 10 pods at once; 1 pod per minute is allowed.
	steps, err := Simulate(hpa, []Sample{{0, 90}, {10 * time.Second, 450}}, Options{SyncPeriod: 15 * time.Second, Until: 200 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.At == 15*time.Second && s.Desired != 3 {
			t.Errorf("at 15s desired %d, want 3 (one pod per minute)", s.Desired)
		}
		if s.At == 60*time.Second && s.Desired != 3 {
			t.Errorf("at 60s desired %d, want still 3", s.Desired)
		}
		if s.At == 75*time.Second && s.Desired != 4 {
			t.Errorf("at 75s desired %d, want 4", s.Desired)
		}
	}
}

func TestToleranceAndBounds(t *testing.T) {
	hpa := parse(t, paperHPA)
	// 2 pods at 48 QPS each: within 10% of 45, no change.
	steps, _ := Simulate(hpa, []Sample{{0, 96}}, Options{SyncPeriod: 15 * time.Second, Until: 60 * time.Second})
	for _, s := range steps {
		if s.Desired != 2 {
			t.Fatalf("inside the tolerance the HPA changed to %d", s.Desired)
		}
	}
	// A huge load is capped at maxReplicas.
	steps, _ = Simulate(hpa, []Sample{{0, 10000}}, Options{SyncPeriod: 15 * time.Second, Until: 120 * time.Second})
	if got := steps[len(steps)-1].Desired; got != 10 {
		t.Fatalf("under huge load desired = %d, want maxReplicas 10", got)
	}
	cpu := hpa.DeepCopy()
	cpu.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}}}
	if _, err := Simulate(cpu, []Sample{{0, 1}}, Options{}); err == nil {
		t.Fatal("a CPU metric was accepted")
	}
	ext := hpa.DeepCopy()
	q := resource.MustParse("45")
	ext.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType,
		External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "total_qps"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}}}
	steps, err := Simulate(ext, []Sample{{0, 200}}, Options{SyncPeriod: 15 * time.Second, Until: 60 * time.Second})
	if err != nil || steps[len(steps)-1].Desired != 5 {
		t.Fatalf("external averageValue 45 at 200 QPS: desired %d (err %v), want 5", steps[len(steps)-1].Desired, err)
	}
}
