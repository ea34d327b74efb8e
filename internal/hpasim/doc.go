// Package hpasim replays the HorizontalPodAutoscaler's documented algorithm
// (autoscaling/v2) over a load timeline, so a user can choose a QPS target
// before deploying: `gatescale plan`.
//
// Every sync period it computes each metric's proposal — ceil(ready ×
// current/target) outside the tolerance band — takes the largest, applies
// the stabilization windows (scale-up takes the lowest, scale-down the
// highest recommendation of its window), then the scaling policies (Pods and
// Percent per period, selectPolicy Max/Min/Disabled) and min/max replicas,
// as pkg/controller/podautoscaler does. Load is spread evenly over the pods
// that are serving; a new pod serves PodStartup after the decision.
//
// Supported metrics: Pods and Object/External metrics with AverageValue or
// Value targets, whose value is the offered QPS (per pod, or in total).
// Resource (CPU) metrics need a model of CPU per request and are refused.
package hpasim
