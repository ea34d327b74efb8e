package hpasim

import (
	"errors"
	"fmt"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Sample is the total offered load at a point in time.
type Sample struct {
	At  time.Duration
	QPS float64
}

// Options tune the replay; zero values are Kubernetes' defaults.
type Options struct {
	// SyncPeriod is the controller's --horizontal-pod-autoscaler-sync-period
	// (default 15s).
	SyncPeriod time.Duration
	// Tolerance is --horizontal-pod-autoscaler-tolerance (default 0.1).
	Tolerance float64
	// Start is the number of replicas at time 0 (default minReplicas).
	Start int
	// PodStartup is the time from a scale-up decision to the new pod
	// serving (default 0).
	PodStartup time.Duration
	// Until ends the replay (default: the last sample + 10 min, so the
	// scale-down after the load is seen).
	Until time.Duration
}

// Step is the state at one sync.
type Step struct {
	At time.Duration
	// QPS is the offered total; PerPod what each serving pod sees.
	QPS, PerPod float64
	// Serving pods, the replicas the HPA asked for, and the proposal
	// before stabilization and policies.
	Serving, Desired, Proposal int
}

type recommendation struct {
	at       time.Duration
	replicas int
}

type scaleEvent struct {
	at    time.Duration
	delta int
}

// Simulate replays hpa over samples (sorted by time; load is held from one
// sample to the next).
func Simulate(hpa *autoscalingv2.HorizontalPodAutoscaler, samples []Sample, o Options) ([]Step, error) {
	spec := hpa.Spec
	if len(spec.Metrics) == 0 {
		return nil, errors.New("the HPA has no metrics")
	}
	if len(samples) == 0 {
		return nil, errors.New("no load samples")
	}
	minR := int32(1)
	if spec.MinReplicas != nil {
		minR = *spec.MinReplicas
	}
	maxR := spec.MaxReplicas
	if maxR < minR {
		return nil, fmt.Errorf("maxReplicas %d is below minReplicas %d", maxR, minR)
	}
	for i, m := range spec.Metrics {
		if _, err := targetOf(m); err != nil {
			return nil, fmt.Errorf("metrics[%d]: %w", i, err)
		}
	}
	sync := or(o.SyncPeriod, 15*time.Second)
	tol := o.Tolerance
	if tol == 0 {
		tol = 0.1
	}
	until := o.Until
	if until == 0 {
		until = samples[len(samples)-1].At + 10*time.Minute
	}
	current := o.Start
	if current == 0 {
		current = int(minR)
	}
	// Pods started at these times; pods beyond the desired count are
	// removed newest first, as a ReplicaSet does.
	starts := make([]time.Duration, current)
	var recs []recommendation
	var events []scaleEvent
	var out []Step
	for t := time.Duration(0); t <= until; t += sync {
		qps := loadAt(samples, t)
		serving := 0
		for _, s := range starts {
			if s <= t {
				serving++
			}
		}
		perPod := 0.0
		if serving > 0 {
			perPod = qps / float64(serving)
		}
		proposal := 0
		for _, m := range spec.Metrics {
			p := proposalFor(m, qps, perPod, serving, current, tol)
			proposal = max(proposal, p)
		}
		recs = append(recs, recommendation{t, proposal})
		desired := stabilize(spec.Behavior, recs, t, current, proposal)
		desired = limit(spec.Behavior, events, t, current, desired)
		desired = min(max(desired, int(minR)), int(maxR))
		if desired != current {
			events = append(events, scaleEvent{t, desired - current})
			for len(starts) < desired {
				starts = append(starts, t+o.PodStartup)
			}
			starts = starts[:desired]
			current = desired
		}
		out = append(out, Step{At: t, QPS: qps, PerPod: perPod, Serving: serving, Desired: current, Proposal: proposal})
	}
	return out, nil
}

// target is a metric's target and whether it is per pod.
type target struct {
	value  float64
	perPod bool
}

func targetOf(m autoscalingv2.MetricSpec) (target, error) {
	var t autoscalingv2.MetricTarget
	switch m.Type {
	case autoscalingv2.PodsMetricSourceType:
		t = m.Pods.Target
	case autoscalingv2.ObjectMetricSourceType:
		t = m.Object.Target
	case autoscalingv2.ExternalMetricSourceType:
		t = m.External.Target
	case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		return target{}, errors.New("resource (CPU/memory) metrics need a model of usage per request; plan replays QPS metrics only")
	default:
		return target{}, fmt.Errorf("metric type %q is not supported", m.Type)
	}
	switch {
	case t.AverageValue != nil:
		return target{value: t.AverageValue.AsApproximateFloat64(), perPod: true}, nil
	case t.Value != nil && m.Type != autoscalingv2.PodsMetricSourceType:
		return target{value: t.Value.AsApproximateFloat64()}, nil
	}
	return target{}, errors.New("target needs averageValue (or value for Object/External metrics)")
}

// proposalFor is the controller's replica calculation for one metric.
func proposalFor(m autoscalingv2.MetricSpec, qps, perPod float64, serving, current int, tol float64) int {
	tg, _ := targetOf(m)
	if tg.value <= 0 || serving == 0 {
		return current
	}
	var ratio float64
	switch {
	case m.Type == autoscalingv2.PodsMetricSourceType:
		ratio = perPod / tg.value
	case tg.perPod: // Object/External averageValue: total divided by the target
		ratio = qps / (tg.value * float64(current))
	default: // Value: one number against the target
		ratio = qps / tg.value
	}
	if math.Abs(ratio-1) <= tol {
		return current
	}
	if m.Type == autoscalingv2.PodsMetricSourceType {
		return int(math.Ceil(ratio * float64(serving)))
	}
	return int(math.Ceil(ratio * float64(current)))
}

// stabilize applies the stabilization windows: the up recommendation is the
// lowest, the down recommendation the highest of its window.
func stabilize(b *autoscalingv2.HorizontalPodAutoscalerBehavior, recs []recommendation, now time.Duration, current, proposal int) int {
	upWin, downWin := time.Duration(0), 300*time.Second
	if b != nil && b.ScaleUp != nil && b.ScaleUp.StabilizationWindowSeconds != nil {
		upWin = time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
	}
	if b != nil && b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
		downWin = time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
	}
	up, down := proposal, proposal
	for _, r := range recs {
		if now-r.at <= upWin {
			up = min(up, r.replicas)
		}
		if now-r.at <= downWin {
			down = max(down, r.replicas)
		}
	}
	switch {
	case current < up:
		return up
	case current > down:
		return down
	}
	return current
}

// limit applies the scaling policies against the replicas at the start of
// each policy's period.
func limit(b *autoscalingv2.HorizontalPodAutoscalerBehavior, events []scaleEvent, now time.Duration, current, desired int) int {
	if desired > current {
		rules := defaultScaleUp()
		if b != nil && b.ScaleUp != nil {
			rules = merge(b.ScaleUp, rules)
		}
		return min(desired, bound(rules, events, now, current, true))
	}
	if desired < current {
		rules := defaultScaleDown()
		if b != nil && b.ScaleDown != nil {
			rules = merge(b.ScaleDown, rules)
		}
		return max(desired, bound(rules, events, now, current, false))
	}
	return desired
}

func bound(r *autoscalingv2.HPAScalingRules, events []scaleEvent, now time.Duration, current int, up bool) int {
	sel := autoscalingv2.MaxChangePolicySelect
	if r.SelectPolicy != nil {
		sel = *r.SelectPolicy
	}
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	best, first := 0, true
	for _, p := range r.Policies {
		period := time.Duration(p.PeriodSeconds) * time.Second
		start := current
		for _, e := range events { // undo the changes made within the period
			if now-e.at < period && (e.delta > 0) == up {
				start -= e.delta
			}
		}
		var v int
		switch {
		case up && p.Type == autoscalingv2.PodsScalingPolicy:
			v = start + int(p.Value)
		case up:
			v = int(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		case p.Type == autoscalingv2.PodsScalingPolicy:
			v = start - int(p.Value)
		default:
			v = int(math.Ceil(float64(start) * (1 - float64(p.Value)/100)))
		}
		// Max allows the largest change, Min the smallest.
		larger := (up && v > best) || (!up && v < best)
		if first || (sel == autoscalingv2.MaxChangePolicySelect) == larger {
			best, first = v, false
		}
	}
	if first {
		return current
	}
	return best
}

func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	sel := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{SelectPolicy: &sel, Policies: []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
	}}
}

func defaultScaleDown() *autoscalingv2.HPAScalingRules {
	sel := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{SelectPolicy: &sel, Policies: []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}}
}

func merge(r, def *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	out := *r
	if out.SelectPolicy == nil {
		out.SelectPolicy = def.SelectPolicy
	}
	if len(out.Policies) == 0 {
		out.Policies = def.Policies
	}
	return &out
}

func loadAt(samples []Sample, t time.Duration) float64 {
	q := 0.0
	for _, s := range samples {
		if s.At > t {
			break
		}
		q = s.QPS
	}
	return q
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
