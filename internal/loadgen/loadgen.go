package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is one part of a profile: the rate moves linearly from From to To
// requests per second over Duration. From == To holds a rate.
type Stage struct {
	Duration time.Duration
	From, To float64
}

// Profile is a sequence of stages.
type Profile []Stage

// Duration is the profile's total length.
func (p Profile) Duration() time.Duration {
	var d time.Duration
	for _, s := range p {
		d += s.Duration
	}
	return d
}

// RateAt returns the offered rate at t since the start (0 after the end).
func (p Profile) RateAt(t time.Duration) float64 {
	for _, s := range p {
		if t < s.Duration {
			return s.From + (s.To-s.From)*float64(t)/float64(s.Duration)
		}
		t -= s.Duration
	}
	return 0
}

// Result counts what happened to the requests sent.
type Result struct {
	Sent, OK, Failed int64
	// ByStatus counts responses per status code; transport errors count
	// under 0.
	ByStatus map[int]int64
	// Errors holds up to 20 example failures.
	Errors []string
}

// Runner sends requests built by NewRequest at the profile's rate.
type Runner struct {
	Profile Profile
	// NewRequest builds the n-th request (n from 0); it chooses the target,
	// so a caller can spread load over replicas it discovers as it goes.
	NewRequest func(ctx context.Context, n int64) (*http.Request, error)
	// Client sends the requests (default: a client with a pooled transport
	// and a 10 s timeout).
	Client *http.Client
	// OK decides whether a response counts as a success (default: status
	// below 500).
	OK func(*http.Response) bool
	// MaxInFlight caps concurrent requests (default 1024); a request that
	// would exceed it is counted as failed rather than delayed, so the
	// schedule stays open-loop.
	MaxInFlight int

	mu     sync.Mutex
	res    Result
	issued atomic.Int64
}

// Run sends the profile and returns when it is done and every request has
// finished, or when ctx ends.
func (r *Runner) Run(ctx context.Context) Result {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024, IdleConnTimeout: 30 * time.Second}}
	}
	okf := r.OK
	if okf == nil {
		okf = func(resp *http.Response) bool { return resp.StatusCode < 500 }
	}
	maxIn := r.MaxInFlight
	if maxIn <= 0 {
		maxIn = 1024
	}
	sem := make(chan struct{}, maxIn)
	r.res = Result{ByStatus: map[int]int64{}}

	var wg sync.WaitGroup
	start := time.Now()
	total := r.Profile.Duration()
	var due float64 // requests owed by the schedule so far
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	last := start
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			elapsed := now.Sub(start)
			if elapsed >= total {
				break loop
			}
			// Integrate the rate over the tick (midpoint rule).
			mid := last.Sub(start) + now.Sub(last)/2
			due += r.Profile.RateAt(mid) * now.Sub(last).Seconds()
			last = now
			for ; due >= 1; due-- {
				n := r.issued.Add(1) - 1
				select {
				case sem <- struct{}{}:
				default:
					r.record(0, false, fmt.Errorf("more than %d requests in flight", maxIn))
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					r.send(ctx, client, okf, n)
				}()
			}
		}
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.res
	out.ByStatus = make(map[int]int64, len(r.res.ByStatus))
	for k, v := range r.res.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

func (r *Runner) send(ctx context.Context, client *http.Client, okf func(*http.Response) bool, n int64) {
	req, err := r.NewRequest(ctx, n)
	if err != nil {
		r.record(0, false, err)
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		r.record(0, false, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ok := okf(resp)
	var ferr error
	if !ok {
		ferr = fmt.Errorf("%s %s: status %d", req.Method, req.URL, resp.StatusCode)
	}
	r.record(resp.StatusCode, ok, ferr)
}

func (r *Runner) record(code int, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Sent++
	r.res.ByStatus[code]++
	if ok {
		r.res.OK++
		return
	}
	r.res.Failed++
	if err != nil && len(r.res.Errors) < 20 {
		r.res.Errors = append(r.res.Errors, err.Error())
	}
}

// Expected returns how many requests the profile offers in total.
func (p Profile) Expected() float64 {
	var n float64
	for _, s := range p {
		n += (s.From + s.To) / 2 * s.Duration.Seconds()
	}
	return math.Round(n)
}
