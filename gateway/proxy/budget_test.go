package proxy

import (
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBudget(0.2, 0)
	b.now = func() time.Time { return now }
	if b.Withdraw() {
		t.Fatal("a retry was allowed with no requests and no minimum")
	}
	for range 100 {
		b.Request()
	}
	allowed := 0
	for range 50 {
		if b.Withdraw() {
			allowed++
		}
	}
	if allowed != 20 {
		t.Fatalf("allowed %d retries after 100 requests at ratio 0.2, want 20", allowed)
	}
	// Ten seconds later the window has moved on.
	now = now.Add(11 * time.Second)
	if b.Withdraw() {
		t.Fatal("old requests still fund retries after the window")
	}
	m := NewBudget(0, 1)
	m.now = func() time.Time { return now }
	n := 0
	for range 20 {
		if m.Withdraw() {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("minimum of 1/s over a 10 s window allowed %d, want 10", n)
	}
}
