package prom

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Series is a discovered series shape: a metric name and the names of its
// labels. Discovery keeps shapes, not series: ten thousand series of one
// metric over pods, routes and codes are one shape, which is all the
// rules need to name metrics and resources.
type Series struct {
	Name   string
	Labels []string // sorted, without __name__
}

// Snapshot is the result of one discovery run. It is never modified after
// it is published.
type Snapshot struct {
	// Time is when the run started; Duration how long it took.
	Time     time.Time
	Duration time.Duration
	// Series holds the shapes found for each selector.
	Series map[string][]Series
	// Count is how many series (not shapes) Prometheus returned per
	// selector.
	Count map[string]int
	// Errors holds the selectors whose listing failed in this run; their
	// shapes are those of the last successful run, so a Prometheus hiccup
	// does not make metrics disappear.
	Errors map[string]error

	// gen is the generation of the selectors listed (see Discoverer.gen).
	gen uint64
}

// Discoverer lists the series of a set of selectors periodically and on
// demand, and keeps the latest Snapshot in memory, where API discovery and
// queries read it without calling Prometheus.
type Discoverer struct {
	client   *Client
	interval time.Duration
	lookback time.Duration
	// minGap is the least time between two runs triggered on demand, so a
	// burst of requests for unknown metrics costs one listing, not one
	// each.
	minGap time.Duration

	mu        sync.Mutex
	selectors []string
	// gen counts SetSelectors calls; lastGen is the gen of the last run,
	// so that a run that listed other selectors is not taken for a recent
	// one by Refresh.
	gen, lastGen uint64
	onUpdate     []func(*Snapshot)
	kick         chan struct{}
	lastEnd      time.Time

	snap   atomic.Pointer[Snapshot]
	flight singleflight.Group
	// Observe, if set, is told about each run (for the adapter's own
	// metrics).
	Observe func(s *Snapshot)
}

// DiscovererOptions configure a Discoverer.
type DiscovererOptions struct {
	// Interval between periodic runs (default 1m).
	Interval time.Duration
	// Lookback is how far back a run looks for series (default 10m,
	// never less than Interval): a series must have a sample in that
	// window to be found, so a lookback shorter than the scrape interval
	// would make metrics flap.
	Lookback time.Duration
	// MinGap is the least time between on-demand runs (default 2s).
	MinGap time.Duration
}

// NewDiscoverer returns a Discoverer; Run starts it.
func NewDiscoverer(c *Client, o DiscovererOptions) *Discoverer {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Lookback <= 0 {
		o.Lookback = 10 * time.Minute
	}
	if o.Lookback < o.Interval {
		o.Lookback = o.Interval
	}
	if o.MinGap <= 0 {
		o.MinGap = 2 * time.Second
	}
	d := &Discoverer{client: c, interval: o.Interval, lookback: o.Lookback, minGap: o.MinGap, kick: make(chan struct{}, 1)}
	d.snap.Store(&Snapshot{Series: map[string][]Series{}, Count: map[string]int{}, Errors: map[string]error{}})
	return d
}

// SetSelectors replaces the selectors (after a configuration reload) and
// makes the running loop list them at once.
func (d *Discoverer) SetSelectors(sel []string) {
	uniq := map[string]bool{}
	var out []string
	for _, s := range sel {
		if !uniq[s] {
			uniq[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	d.mu.Lock()
	d.selectors = out
	d.gen++
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// OnUpdate registers fn to be called with every new snapshot (from the
// goroutine that made it).
func (d *Discoverer) OnUpdate(fn func(*Snapshot)) {
	d.mu.Lock()
	d.onUpdate = append(d.onUpdate, fn)
	d.mu.Unlock()
}

// Snapshot returns the latest snapshot (empty before the first run).
func (d *Discoverer) Snapshot() *Snapshot { return d.snap.Load() }

// Run lists series at once, then every interval and whenever the
// selectors change, until ctx ends.
func (d *Discoverer) Run(ctx context.Context) {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		_, _ = d.refresh(ctx, true)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
	}
}

// Refresh lists series now, unless a run of the current selectors
// finished less than the minimum gap ago, and returns the resulting
// snapshot; a run in progress is waited for, and run again if it started
// before the selectors changed. The provider calls it when a request
// names a metric it does not know, so a metric that appeared since the
// last run, or a rule a reload added, is served at once instead of after
// up to one interval.
func (d *Discoverer) Refresh(ctx context.Context) (*Snapshot, error) {
	return d.refresh(ctx, false)
}

func (d *Discoverer) refresh(ctx context.Context, periodic bool) (*Snapshot, error) {
	// Twice at most: a run joined in progress may have listed the
	// selectors of before a SetSelectors; the next one lists the new.
	for range 2 {
		d.mu.Lock()
		gen := d.gen
		recent := d.lastGen == gen && time.Since(d.lastEnd) < d.minGap
		d.mu.Unlock()
		if recent && !periodic {
			return d.Snapshot(), nil
		}
		ch := d.flight.DoChan("run", func() (any, error) { return d.run(context.WithoutCancel(ctx)), nil })
		select {
		case r := <-ch:
			if s := r.Val.(*Snapshot); periodic || s.gen >= gen {
				return s, nil
			}
		case <-ctx.Done():
			return d.Snapshot(), ctx.Err()
		}
	}
	return d.Snapshot(), nil
}

// run lists every selector concurrently (four at a time, to spare
// Prometheus) and publishes the snapshot.
func (d *Discoverer) run(ctx context.Context) *Snapshot {
	d.mu.Lock()
	sels, gen := d.selectors, d.gen
	d.mu.Unlock()
	prev := d.Snapshot()
	start := time.Now()
	s := &Snapshot{Time: start, Series: map[string][]Series{}, Count: map[string]int{}, Errors: map[string]error{}, gen: gen}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, sel := range sels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			shapes, n, err := d.list(ctx, sel, start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.Errors[sel] = err
				if old, ok := prev.Series[sel]; ok {
					s.Series[sel], s.Count[sel] = old, prev.Count[sel]
				}
				return
			}
			s.Series[sel], s.Count[sel] = shapes, n
		}()
	}
	wg.Wait()
	s.Duration = time.Since(start)
	d.snap.Store(s)
	d.mu.Lock()
	d.lastEnd, d.lastGen = time.Now(), gen
	fns := append([]func(*Snapshot){}, d.onUpdate...)
	d.mu.Unlock()
	if d.Observe != nil {
		d.Observe(s)
	}
	for _, fn := range fns {
		fn(s)
	}
	return s
}

func (d *Discoverer) list(ctx context.Context, sel string, now time.Time) ([]Series, int, error) {
	seen := map[string]int{}
	var shapes []Series
	var key strings.Builder
	n, err := d.client.Series(ctx, sel, now.Add(-d.lookback), now, func(name string, labels []string) {
		key.Reset()
		key.WriteString(name)
		for _, l := range labels {
			key.WriteByte(0)
			key.WriteString(l)
		}
		if _, ok := seen[key.String()]; ok {
			return
		}
		seen[key.String()] = len(shapes)
		shapes = append(shapes, Series{Name: name, Labels: append([]string(nil), labels...)})
	})
	if err != nil {
		return nil, n, fmt.Errorf("listing series %s: %w", sel, err)
	}
	sort.Slice(shapes, func(i, j int) bool {
		if shapes[i].Name != shapes[j].Name {
			return shapes[i].Name < shapes[j].Name
		}
		return strings.Join(shapes[i].Labels, ",") < strings.Join(shapes[j].Labels, ",")
	})
	return shapes, n, nil
}
