package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Active.
const (
	DefaultPath               = "/healthz"
	DefaultInterval           = 5 * time.Second
	DefaultTimeout            = 1 * time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3
	// maxConcurrentProbes bounds the probes in flight per Run, so a large
	// upstream does not open hundreds of connections at each tick.
	maxConcurrentProbes = 16
)

// A Target is an instance that active checks probe. *balance.Endpoint
// implements it.
type Target interface {
	// BaseURL is the scheme://host:port the check path is appended to.
	BaseURL() *url.URL
	// HealthState is where probe results are recorded.
	HealthState() *State
}

// Active configures active health checks: a GET of Path on every instance
// each Interval. UnhealthyThreshold failed probes in a row mark an instance
// down (State.ActiveDown), HealthyThreshold good ones in a row mark it up
// again. A new instance starts up (see State). The zero value uses the
// defaults.
type Active struct {
	// Path is requested on each instance (default "/healthz"). It may carry
	// a query ("/health?full=1"). It is sent as written, so percent-encoding
	// in it ("/health%2Fcheck") is kept, not escaped again.
	Path string
	// Interval is the time between the starts of two rounds of probes
	// (default 5s).
	Interval time.Duration
	// Timeout bounds one probe, connecting included (default 1s).
	Timeout time.Duration
	// HealthyThreshold is how many good probes in a row bring a down
	// instance back (default 2).
	HealthyThreshold int
	// UnhealthyThreshold is how many failed probes in a row take an
	// instance down (default 3).
	UnhealthyThreshold int
	// Client sends the probes. The default client keeps connections alive
	// between probes, never uses an environment proxy and does not follow
	// redirects (a 3xx is judged by ExpectStatus as it is). Supply a client
	// for custom TLS, e.g. instances with private certificates.
	Client *http.Client
	// ExpectStatus reports whether a status code means healthy (default
	// 200–399).
	ExpectStatus func(code int) bool
	// GRPC, when set, probes with the gRPC health-checking protocol instead
	// of a GET of Path (which is then not used); see GRPC.
	GRPC *GRPC
}

func (a Active) path() string {
	if a.Path == "" {
		return DefaultPath
	}
	if !strings.HasPrefix(a.Path, "/") {
		return "/" + a.Path
	}
	return a.Path
}

func (a Active) interval() time.Duration {
	if a.Interval <= 0 {
		return DefaultInterval
	}
	return a.Interval
}

func (a Active) timeout() time.Duration {
	if a.Timeout <= 0 {
		return DefaultTimeout
	}
	return a.Timeout
}

func (a Active) healthyThreshold() int32 {
	if a.HealthyThreshold <= 0 {
		return DefaultHealthyThreshold
	}
	return int32(min(a.HealthyThreshold, maxRun))
}

func (a Active) unhealthyThreshold() int32 {
	if a.UnhealthyThreshold <= 0 {
		return DefaultUnhealthyThreshold
	}
	return int32(min(a.UnhealthyThreshold, maxRun))
}

func (a Active) client() *http.Client {
	if a.Client != nil {
		return a.Client
	}
	return defaultClient()
}

func (a Active) expect(code int) bool {
	if a.ExpectStatus != nil {
		return a.ExpectStatus(code)
	}
	return code >= 200 && code < 400
}

// defaultClient is shared by every Active without a Client so that idle
// probe connections are pooled once per process.
var defaultClient = sync.OnceValue(func() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:       nil, // probe the instance itself, never via HTTP(S)_PROXY
			DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			// One probe per instance at a time: keep one idle connection per
			// instance, long enough to outlive any sensible Interval.
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // bodies are discarded
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
})

// maxProbeBody is how much of a probe response is read so the connection
// can be reused; a longer body costs a new connection next time, nothing
// more.
const maxProbeBody = 64 << 10

// Probe GETs base+Path once (or, with GRPC, calls the gRPC health
// service), within Timeout, and returns nil if the status is expected. The error says what went wrong: the unexpected status, a
// failure to connect, a timeout, or another transport error.
func (a Active) Probe(ctx context.Context, base *url.URL) error {
	if base == nil {
		return errors.New("health check: no base URL")
	}
	if a.GRPC != nil {
		return a.probeGRPC(ctx, base)
	}
	u := *base
	p, query, _ := strings.Cut(a.path(), "?")
	// Path is taken as already encoded, like a request target: joining the
	// decoded forms would have u.String escape "%2F" again as "%252F".
	raw := strings.TrimSuffix(u.EscapedPath(), "/") + p
	if dec, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = dec, raw
	} else {
		// Not valid encoding ("/50%"): taken literally, escaped once.
		u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/")+p, ""
	}
	u.RawQuery = query
	target := u.String()

	timeout := a.timeout()
	probeCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(probeCtx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", target, err)
	}
	req.Header.Set("User-Agent", "gatescale-health-check")
	resp, err := a.client().Do(req)
	if err != nil {
		return a.transportError(ctx, target, timeout, err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxProbeBody)
	resp.Body.Close()
	if !a.expect(resp.StatusCode) {
		return fmt.Errorf("health check %s: unexpected status %d", target, resp.StatusCode)
	}
	return nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// maxRun bounds the probe run counters so they cannot overflow.
const maxRun = math.MaxInt32 / 2

// Record adds one probe result (err nil means good) to s and reports
// whether that flipped s.ActiveDown: down after UnhealthyThreshold failures
// in a row, up after HealthyThreshold successes in a row.
func (a Active) Record(s *State, err error) (changed bool) {
	var run int32
	for {
		old := s.activeRun.Load()
		switch {
		case err == nil && old > 0:
			run = min(old+1, maxRun)
		case err == nil:
			run = 1
		case old < 0:
			run = max(old-1, -maxRun)
		default:
			run = -1
		}
		if s.activeRun.CompareAndSwap(old, run) {
			break
		}
	}
	if err == nil {
		return run >= a.healthyThreshold() && s.activeDown.CompareAndSwap(true, false)
	}
	return -run >= a.unhealthyThreshold() && s.activeDown.CompareAndSwap(false, true)
}

// Run probes every target returned by targets, up to 16 at once, at once
// and then every Interval, until ctx ends. targets is called at the start
// of each round, so instances that come and go are followed. After a round
// in which any target went down or up, onChange (if not nil) is called
// once, so the caller rebuilds its balancer set once per round. A round
// that outlasts Interval delays the next one rather than overlapping it.
// Results of probes cut short by ctx ending are not recorded, and onChange
// is not called once Run has seen ctx end.
func (a Active) Run(ctx context.Context, targets func() []Target, onChange func()) {
	ticker := time.NewTicker(a.interval())
	defer ticker.Stop()
	for {
		changed := a.round(ctx, targets())
		if ctx.Err() != nil {
			return
		}
		if changed && onChange != nil {
			onChange()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// round probes ts concurrently and reports whether any ActiveDown changed.
func (a Active) round(ctx context.Context, ts []Target) bool {
	var changed atomic.Bool
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(ts), maxConcurrentProbes) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ts) {
					return
				}
				err := a.Probe(ctx, ts[i].BaseURL())
				if ctx.Err() != nil {
					return
				}
				if a.Record(ts[i].HealthState(), err) {
					changed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return changed.Load()
}
