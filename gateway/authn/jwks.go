package authn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of JWKS.
const (
	DefaultJWKSRefresh    = 15 * time.Minute
	DefaultJWKSMinRefresh = 30 * time.Second
	// maxJWKSBytes bounds a key set response; real ones are a few KiB.
	maxJWKSBytes = 1 << 20
)

// JWKS is a KeySet fetched from a JWKS URL and cached. Keys are fetched on
// first use and then every RefreshInterval (Start); a token whose key ID
// is not in the cache causes one refresh, at most once per
// MinRefreshInterval, so that an issuer's key rotation is picked up at
// once while a flood of tokens with made-up key IDs costs the issuer at
// most one request per interval. A failed fetch keeps the keys in hand.
// An https URL that redirects to plain http is a failed fetch.
//
// Set the fields before first use; the zero values take the defaults.
type JWKS struct {
	// URL is the key set's address, e.g.
	// https://idp.example.com/.well-known/jwks.json. Required.
	URL string
	// Client fetches the set (default: a client with a 10 s timeout).
	Client *http.Client
	// RefreshInterval is how often Start refreshes (default 15m).
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches (default
	// 30s): unknown key IDs and failed fetches wait this long.
	MinRefreshInterval time.Duration
	// Logger receives fetch failures (default slog.Default()).
	Logger *slog.Logger

	keys    atomic.Pointer[[]Key]
	fetches atomic.Int64

	mu        sync.Mutex
	lastFetch time.Time     // start of the last fetch, successful or not
	inflight  chan struct{} // closed when the fetch in progress ends
	lastErr   error
}

// Errors of JWKS.Keys.
var (
	// ErrKeysUnavailable means no key set could be fetched yet.
	ErrKeysUnavailable = errors.New("signing keys are unavailable")
)

// Keys implements KeySet.
func (j *JWKS) Keys(ctx context.Context, kid string) ([]Key, error) {
	if ks := j.keys.Load(); ks != nil {
		if m := matchKID(*ks, kid); len(m) > 0 {
			return m, nil
		}
	}
	// Unknown kid, or nothing fetched yet: one refresh, if the rate limit
	// allows; callers arriving meanwhile wait for the same fetch.
	if err := j.refresh(ctx, false); err != nil && j.keys.Load() == nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	if ks := j.keys.Load(); ks != nil {
		return matchKID(*ks, kid), nil
	}
	return nil, ErrKeysUnavailable
}

// Refresh fetches the key set now, whatever the rate limit, and waits for
// it.
func (j *JWKS) Refresh(ctx context.Context) error { return j.refresh(ctx, true) }

// Fetches returns how many fetches were made (for tests and debugging).
func (j *JWKS) Fetches() int64 { return j.fetches.Load() }

// Start refreshes the key set every RefreshInterval until ctx ends. It
// returns at once; the first fetch happens in the background.
func (j *JWKS) Start(ctx context.Context) {
	every := j.RefreshInterval
	if every <= 0 {
		every = DefaultJWKSRefresh
	}
	go func() {
		_ = j.refresh(ctx, true)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = j.refresh(ctx, true)
			}
		}
	}()
}

func (j *JWKS) refresh(ctx context.Context, force bool) error {
	j.mu.Lock()
	if ch := j.inflight; ch != nil {
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		j.mu.Lock()
		err := j.lastErr
		j.mu.Unlock()
		return err
	}
	minGap := j.MinRefreshInterval
	if minGap <= 0 {
		minGap = DefaultJWKSMinRefresh
	}
	if !force && !j.lastFetch.IsZero() && time.Since(j.lastFetch) < minGap {
		err := j.lastErr
		j.mu.Unlock()
		return err
	}
	ch := make(chan struct{})
	j.inflight = ch
	j.lastFetch = time.Now()
	j.mu.Unlock()

	// The fetch outlives a canceled request: others may be waiting on it.
	keys, err := j.fetch(context.WithoutCancel(ctx))

	j.mu.Lock()
	j.lastErr = err
	if err == nil {
		j.keys.Store(&keys)
	}
	j.inflight = nil
	j.mu.Unlock()
	close(ch)
	if err != nil {
		logger := j.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("JWKS fetch failed; keeping the keys in hand", "url", j.URL, "err", err.Error())
	}
	return err
}

func (j *JWKS) fetch(ctx context.Context) ([]Key, error) {
	j.fetches.Add(1)
	client := j.Client
	if client == nil {
		client = defaultJWKSClient
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// An https key set is trusted because TLS authenticates its server; one
	// that redirected to http came over a connection anyone on the path can
	// rewrite. (The client follows redirects before this sees them, and may
	// be the caller's, so the final URL is checked here.)
	if req.URL.Scheme == "https" && resp.Request != nil && resp.Request.URL.Scheme != "https" {
		return nil, fmt.Errorf("redirected from https to %s: refused", resp.Request.URL.Redacted())
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("key set larger than %d bytes", maxJWKSBytes)
	}
	return parseJWKSet(body, false)
}

var defaultJWKSClient = &http.Client{Timeout: 10 * time.Second}
