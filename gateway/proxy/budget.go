package proxy

import (
	"sync/atomic"
	"time"
)

// Budget caps retries to a share of recent requests, like Finagle's and
// Linkerd's retry budgets: over the last 10 seconds, retries may be at most
// Ratio × requests, plus MinPerSecond × 10 so that low traffic can still
// retry. It is safe for concurrent use and lock-free.
type Budget struct {
	ratio     float64
	minPerSec float64
	buckets   [budgetWindow]budgetBucket
	now       func() time.Time
}

const budgetWindow = 10 // one bucket per second

type budgetBucket struct {
	sec      atomic.Int64
	requests atomic.Int64
	retries  atomic.Int64
}

// NewBudget returns a Budget allowing ratio retries per request (e.g. 0.2)
// and at least minPerSecond retries each second.
func NewBudget(ratio, minPerSecond float64) *Budget {
	return &Budget{ratio: ratio, minPerSec: minPerSecond, now: time.Now}
}

func (b *Budget) bucket(sec int64) *budgetBucket {
	bk := &b.buckets[sec%budgetWindow]
	if old := bk.sec.Load(); old != sec && bk.sec.CompareAndSwap(old, sec) {
		// A new second reuses this slot. A concurrent increment may land
		// just before the reset and be lost; the budget is an estimate.
		bk.requests.Store(0)
		bk.retries.Store(0)
	}
	return bk
}

// Request records one request (not a retry).
func (b *Budget) Request() {
	b.bucket(b.now().Unix()).requests.Add(1)
}

// Withdraw reports whether one more retry fits the budget and, if so,
// records it.
func (b *Budget) Withdraw() bool {
	now := b.now().Unix()
	var requests, retries int64
	for i := range b.buckets {
		bk := &b.buckets[i]
		if s := bk.sec.Load(); s > now-budgetWindow && s <= now {
			requests += bk.requests.Load()
			retries += bk.retries.Load()
		}
	}
	allowed := b.ratio*float64(requests) + b.minPerSec*budgetWindow
	if float64(retries)+1 > allowed {
		return false
	}
	b.bucket(now).retries.Add(1)
	return true
}
