// Package timeline records an autoscaling run — offered QPS, per-pod QPS as
// the adapter serves it, desired and current replicas — and writes it as CSV
// and as an SVG chart in the style of the paper's Fig. 7 (load and replicas
// over time on two axes). Runs can be drawn side by side (e.g. scaling on
// the QPS metric and on its forecast).
package timeline
