package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestProfileRate(t *testing.T) {
	p := Profile{{Duration: 10 * time.Second, From: 0, To: 100}, {Duration: 5 * time.Second, From: 100, To: 100}}
	if got := p.RateAt(5 * time.Second); got != 50 {
		t.Fatalf("RateAt(5s) = %v, want 50", got)
	}
	if got := p.RateAt(12 * time.Second); got != 100 {
		t.Fatalf("RateAt(12s) = %v, want 100", got)
	}
	if got := p.RateAt(20 * time.Second); got != 0 {
		t.Fatalf("RateAt after end = %v, want 0", got)
	}
	if got := p.Expected(); got != 1000 {
		t.Fatalf("Expected = %v, want 1000", got)
	}
}

func TestRunnerSendsTheProfile(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	r := &Runner{
		Profile: Profile{{Duration: 1 * time.Second, From: 200, To: 200}},
		NewRequest: func(ctx context.Context, n int64) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		},
	}
	res := r.Run(context.Background())
	// The ticker may lose the last partial tick; allow 5%.
	if res.Sent < 190 || res.Sent > 201 {
		t.Fatalf("sent %d requests, want about 200", res.Sent)
	}
	if res.Sent != res.OK+res.Failed || res.Sent != hits.Load() {
		t.Fatalf("counts disagree: sent %d ok %d failed %d server saw %d", res.Sent, res.OK, res.Failed, hits.Load())
	}
	if res.ByStatus[503] != res.Failed || res.Failed < 15 {
		t.Fatalf("503s = %d, failed = %d; want every 10th request failed", res.ByStatus[503], res.Failed)
	}
}
