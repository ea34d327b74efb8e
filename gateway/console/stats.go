package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/internal/liveview"
)

// Number is a statistic that may be unknown (no request completed in the
// period): JSON null rather than NaN, which JSON cannot carry.
type Number float64

// MarshalJSON writes null for NaN and infinities.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// Row is one API's (or composite call's, "route › call") traffic over one
// period: requests per second, latency quantiles in seconds, the share of
// 5xx answers (of failed calls for a composite call) and requests in
// flight at the end.
type Row struct {
	QPS       Number `json:"qps"`
	P50       Number `json:"p50"`
	P99       Number `json:"p99"`
	ErrorRate Number `json:"error_rate"`
	InFlight  Number `json:"in_flight"`
}

// Replica is one replica's whole traffic over one period; Error says why
// it could not be read.
type Replica struct {
	Name  string `json:"name"`
	Row   *Row   `json:"stats,omitempty"`
	Error string `json:"error,omitempty"`
}

// Sample is one period's numbers.
type Sample struct {
	Seq      uint64         `json:"seq"`
	Time     time.Time      `json:"time"`
	Routes   map[string]Row `json:"routes"`
	Replicas []Replica      `json:"replicas"`
}

// Stats is GET /console/api/stats?after=SEQ: the samples newer than SEQ
// (all kept ones without it), oldest first.
type Stats struct {
	EveryMillis int64    `json:"every_ms"`
	Samples     []Sample `json:"samples"`
}

type source struct {
	name   string
	url    string // "" for the local registry
	prev   []*dto.MetricFamily
	prevAt time.Time
}

type sampler struct {
	opts    Options
	sources []*source

	mu      sync.Mutex
	seq     uint64
	samples []Sample // ring, oldest first
}

func newSampler(o Options) *sampler {
	s := &sampler{opts: o, sources: []*source{{name: o.Self}}}
	for _, p := range o.Peers {
		s.sources = append(s.sources, &source{name: p, url: p})
	}
	return s
}

func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(s.opts.Every)
	defer t.Stop()
	s.tick(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tick(ctx)
		}
	}
}

// tick gathers every source once (the peers concurrently) and records one
// sample. The first gather of a source only sets its baseline.
func (s *sampler) tick(ctx context.Context) {
	now := time.Now()
	results := make([][]*dto.MetricFamily, len(s.sources))
	errs := make([]error, len(s.sources))
	var wg sync.WaitGroup
	for i, src := range s.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.gather(ctx, src)
		}()
	}
	wg.Wait()
	sample := Sample{Time: now, Routes: map[string]Row{}}
	for i, src := range s.sources {
		cur, err := results[i], errs[i]
		rep := Replica{Name: src.name}
		switch {
		case err != nil:
			rep.Error = err.Error()
			src.prev = nil
		case src.prev != nil:
			elapsed := now.Sub(src.prevAt)
			if src.url == "" {
				for _, st := range liveview.Compute(src.prev, cur, elapsed) {
					sample.Routes[st.Route] = rowOf(st)
				}
			}
			if rows := liveview.Compute(wholeReplica(src.prev), wholeReplica(cur), elapsed); len(rows) > 0 {
				r := rowOf(rows[0])
				rep.Row = &r
			} else {
				rep.Row = &Row{P50: Number(math.NaN()), P99: Number(math.NaN())}
			}
		}
		if err == nil {
			src.prev, src.prevAt = cur, now
		}
		sample.Replicas = append(sample.Replicas, rep)
	}
	if sample.Replicas[0].Row == nil && sample.Replicas[0].Error == "" {
		return // the baseline of the first tick: nothing to show yet
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sample.Seq = s.seq
	s.samples = append(s.samples, sample)
	if over := len(s.samples) - s.opts.History; over > 0 {
		s.samples = append(s.samples[:0:0], s.samples[over:]...)
	}
}

func (s *sampler) gather(ctx context.Context, src *source) ([]*dto.MetricFamily, error) {
	if src.url == "" {
		return s.opts.Gatherer.Gather()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: %s", src.url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s/metrics: %w", src.url, err)
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		// The text format lists the +Inf bucket, which a Gather leaves
		// implicit (the sample count): drop it so both read the same.
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				h.Bucket = slices.DeleteFunc(h.Bucket, func(b *dto.Bucket) bool { return math.IsInf(b.GetUpperBound(), 1) })
			}
		}
		out = append(out, mf)
	}
	return out, nil
}

// wholeReplica keeps the request families with every series' route label
// set to "", so Compute gives the replica's traffic as one row, its
// quantiles from the summed histograms.
func wholeReplica(mfs []*dto.MetricFamily) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range mfs {
		if mf.GetName() != metrics.RequestsTotal && mf.GetName() != metrics.RequestDuration {
			continue
		}
		c := &dto.MetricFamily{Name: mf.Name, Type: mf.Type}
		for _, m := range mf.GetMetric() {
			mm := &dto.Metric{Counter: m.Counter, Histogram: m.Histogram}
			for _, lp := range m.GetLabel() {
				if lp.GetName() != "route" {
					mm.Label = append(mm.Label, lp)
				}
			}
			c.Metric = append(c.Metric, mm)
		}
		out = append(out, c)
	}
	return out
}

func rowOf(st liveview.RouteStats) Row {
	return Row{QPS: Number(st.QPS), P50: Number(st.P50), P99: Number(st.P99), ErrorRate: Number(st.ErrorRate), InFlight: Number(st.InFlight)}
}

// since returns the samples after seq.
func (s *sampler) since(seq uint64) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Sample{}
	for _, x := range s.samples {
		if x.Seq > seq {
			out = append(out, x)
		}
	}
	return out
}

// latest returns the newest sample (zero if none yet).
func (s *sampler) latest() Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return Sample{}
	}
	return s.samples[len(s.samples)-1]
}

func (c *Console) stats(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, "after: want a sample number", http.StatusBadRequest)
			return
		}
		after = n
	}
	writeJSON(w, Stats{EveryMillis: c.opts.Every.Milliseconds(), Samples: c.sampler.since(after)})
}
