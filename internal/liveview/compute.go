package liveview

import (
	"math"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatescale/gatescale/gateway/metrics"
)

// RouteStats is one route's traffic over one tick.
type RouteStats struct {
	Route string
	// QPS is requests completed per second during the tick.
	QPS float64
	// P50 and P99 are latency quantiles in seconds, interpolated inside the
	// classic buckets like histogram_quantile; NaN when no request completed.
	P50, P99 float64
	// ErrorRate is the share (0..1) of completed requests answered with 5xx;
	// 0 when none completed.
	ErrorRate float64
	// InFlight is the number of requests being served at the end of the tick.
	InFlight float64
}

// UpstreamStats is how many instances of an upstream are in each state.
type UpstreamStats struct {
	Upstream                    string
	Healthy, Ejected, Unhealthy float64
}

// Compute returns per-route stats for the tick between two gathers of the
// same registry, elapsed apart, sorted by route. A series missing from prev
// started during the tick and counts from zero; a counter lower than before
// was reset and counts from zero too, as in rate().
func Compute(prev, cur []*dto.MetricFamily, elapsed time.Duration) []RouteStats {
	old := index(prev)
	type acc struct {
		total, errors float64
		hist          map[float64]float64 // upper bound -> cumulative count delta; +Inf included
		inFlight      float64
	}
	routes := map[string]*acc{}
	addHist := func(a *acc, prev, m *dto.Metric) {
		h := m.GetHistogram()
		var ph *dto.Histogram
		if prev != nil && prev.GetHistogram().GetSampleCount() <= h.GetSampleCount() {
			ph = prev.GetHistogram() // else reset: count from zero
		}
		prevBuckets := map[float64]uint64{}
		for _, b := range ph.GetBucket() {
			prevBuckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		for _, b := range h.GetBucket() {
			a.hist[b.GetUpperBound()] += udelta(prevBuckets[b.GetUpperBound()], b.GetCumulativeCount())
		}
		a.hist[math.Inf(1)] += udelta(ph.GetSampleCount(), h.GetSampleCount())
	}
	get := func(name string) *acc {
		a := routes[name]
		if a == nil {
			a = &acc{hist: map[float64]float64{}}
			routes[name] = a
		}
		return a
	}
	for _, mf := range cur {
		switch mf.GetName() {
		case metrics.RequestsTotal:
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue()
				if p := old[key(mf, m)]; p != nil {
					v = delta(p.GetCounter().GetValue(), v)
				}
				a := get(label(m, "route"))
				a.total += v
				if c := label(m, "code"); len(c) == 3 && c[0] == '5' {
					a.errors += v
				}
			}
		case metrics.RequestDuration:
			for _, m := range mf.GetMetric() {
				addHist(get(label(m, "route")), old[key(mf, m)], m)
			}
		case compositeCalls:
			// A composite route's calls are rows of their own, "route › call",
			// so the view shows which backend makes a composite slow.
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue()
				if p := old[key(mf, m)]; p != nil {
					v = delta(p.GetCounter().GetValue(), v)
				}
				a := get(callRow(m))
				a.total += v
				if label(m, "outcome") != "ok" {
					a.errors += v
				}
			}
		case compositeDuration:
			for _, m := range mf.GetMetric() {
				addHist(get(callRow(m)), old[key(mf, m)], m)
			}
		case metrics.RequestsInFlight:
			for _, m := range mf.GetMetric() {
				get(label(m, "route")).inFlight += m.GetGauge().GetValue()
			}
		}
	}

	out := make([]RouteStats, 0, len(routes))
	for name, a := range routes {
		s := RouteStats{Route: name, InFlight: a.inFlight, P50: math.NaN(), P99: math.NaN()}
		if secs := elapsed.Seconds(); secs > 0 {
			s.QPS = a.total / secs
		}
		if a.total > 0 {
			s.ErrorRate = a.errors / a.total
		}
		bounds := make([]float64, 0, len(a.hist))
		for ub := range a.hist {
			bounds = append(bounds, ub)
		}
		slices.Sort(bounds)
		counts := make([]float64, len(bounds))
		for i, ub := range bounds {
			counts[i] = a.hist[ub]
		}
		s.P50 = Quantile(0.5, bounds, counts)
		s.P99 = Quantile(0.99, bounds, counts)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b RouteStats) int { return strings.Compare(a.Route, b.Route) })
	return out
}

// The composite routes' per-call series (package compose).
const (
	compositeCalls    = "gatescale_composite_calls_total"
	compositeDuration = "gatescale_composite_call_duration_seconds"
)

func callRow(m *dto.Metric) string { return label(m, "route") + " › " + label(m, "call") }

// Quantile estimates the q-quantile from classic histogram buckets the way
// Prometheus's histogram_quantile does: find the bucket holding the rank and
// interpolate linearly inside it, assuming observations are spread evenly.
// bounds are the upper bounds in increasing order, the last being +Inf;
// counts are cumulative. It returns NaN when there are no observations, and
// the highest finite bound when the rank falls in the +Inf bucket.
func Quantile(q float64, bounds, counts []float64) float64 {
	n := len(bounds)
	if n < 2 || len(counts) != n || !math.IsInf(bounds[n-1], 1) || counts[n-1] == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	switch {
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	rank := q * counts[n-1]
	b, _ := slices.BinarySearchFunc(counts[:n-1], rank, func(c, r float64) int {
		if c >= r {
			return 1 // first bucket with count >= rank is the one
		}
		return -1
	})
	if b == n-1 {
		return bounds[n-2]
	}
	if b == 0 && bounds[0] <= 0 {
		return bounds[0]
	}
	start, end, count := 0.0, bounds[b], counts[b]
	if b > 0 {
		start = bounds[b-1]
		count -= counts[b-1]
		rank -= counts[b-1]
	}
	return start + (end-start)*(rank/count)
}

// Upstreams returns the instance states of every upstream in cur, sorted by
// name.
func Upstreams(cur []*dto.MetricFamily) []UpstreamStats {
	byName := map[string]*UpstreamStats{}
	for _, mf := range cur {
		if mf.GetName() != metrics.UpstreamInstances {
			continue
		}
		for _, m := range mf.GetMetric() {
			name := label(m, "upstream")
			u := byName[name]
			if u == nil {
				u = &UpstreamStats{Upstream: name}
				byName[name] = u
			}
			v := m.GetGauge().GetValue()
			switch label(m, "state") {
			case metrics.StateHealthy:
				u.Healthy = v
			case metrics.StateEjected:
				u.Ejected = v
			case metrics.StateUnhealthy:
				u.Unhealthy = v
			}
		}
	}
	out := make([]UpstreamStats, 0, len(byName))
	for _, u := range byName {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UpstreamStats) int { return strings.Compare(a.Upstream, b.Upstream) })
	return out
}

// delta is the increase of a counter from p to c; a drop means a reset,
// after which everything counted happened since.
func delta(p, c float64) float64 {
	if c < p {
		return c
	}
	return c - p
}

func udelta(p, c uint64) float64 {
	if c < p {
		return float64(c)
	}
	return float64(c - p)
}

// index maps family name + labels to the metric, for finding a series'
// previous value.
func index(mfs []*dto.MetricFamily) map[string]*dto.Metric {
	idx := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			idx[key(mf, m)] = m
		}
	}
	return idx
}

func key(mf *dto.MetricFamily, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(mf.GetName())
	for _, lp := range m.GetLabel() { // sorted by name in a gather
		b.WriteByte(0)
		b.WriteString(lp.GetName())
		b.WriteByte(0)
		b.WriteString(lp.GetValue())
	}
	return b.String()
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}
