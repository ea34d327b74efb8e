package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestConsumerLimitsAcrossRecordReloads: a consumers reload replaces every
// record with a new one. The budget is the consumer's, not the record's —
// fifty reloads with the same limit do not reset it — and a changed limit
// applies from the next request on (the budget's state carries over, as
// GCRA's theoretical arrival time).
func TestConsumerLimitsAcrossRecordReloads(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := ratelimit.ConsumerLimits(&ratelimit.Local{Now: func() time.Time { return now }}, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	record := func(rate int) *consumer.Consumer {
		return &consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: rate, Per: spec.Duration(time.Minute)}}}
	}
	call := func(c *consumer.Consumer) int {
		req := httptest.NewRequest("GET", "/", nil)
		req = req.WithContext(consumer.NewContext(req.Context(), &consumer.Identity{ConsumerID: c.ID, Consumer: c}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	first := record(2)
	for i := range 2 {
		if code := call(first); code != 200 {
			t.Fatalf("call %d within the plan: %d", i, code)
		}
	}
	for i := range 50 {
		if code := call(record(2)); code != 429 {
			t.Fatalf("after reload %d with the same plan: %d, want 429 (the budget is the consumer's)", i, code)
		}
	}
	// 100 ms later the old plan (2 a minute) still refuses; the raised one
	// (1,000 a minute: one every 60 ms) lets the request through.
	now = now.Add(100 * time.Millisecond)
	if code := call(record(2)); code != 429 {
		t.Fatalf("100 ms later on the old plan: %d, want 429", code)
	}
	if code := call(record(1000)); code != 200 {
		t.Fatalf("after the plan was raised: %d", code)
	}
}

// TestConsumerLimitsMemoryAcrossReloads: a consumers file reloaded many
// times leaves one compiled plan per consumer, not one per reload.
func TestConsumerLimitsMemoryAcrossReloads(t *testing.T) {
	h := ratelimit.ConsumerLimits(&ratelimit.Local{}, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve := func(c *consumer.Consumer) {
		req := httptest.NewRequest("GET", "/", nil)
		req = req.WithContext(consumer.NewContext(req.Context(), &consumer.Identity{ConsumerID: c.ID, Consumer: c}))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	serve(&consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: 1 << 30, Per: spec.Duration(time.Second)}}})
	before := heap()
	const reloads = 20000
	for range reloads {
		serve(&consumer.Consumer{ID: "acme", RateLimit: []consumer.Limit{{Rate: 1 << 30, Per: spec.Duration(time.Second)}}})
	}
	after := heap()
	runtime.KeepAlive(h)
	if after > before && after-before > 1<<20 {
		t.Fatalf("the heap grew by %d bytes over %d reloads of one consumer's record (%d B each)", after-before, reloads, (after-before)/reloads)
	}
}
