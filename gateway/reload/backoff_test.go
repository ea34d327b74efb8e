package reload

import (
	"testing"
	"time"
)

// The waits double from First up to Max, each shortened by at most a
// fifth; zero fields take the defaults, and Max is at least First.
func TestBackoffWaits(t *testing.T) {
	b := Backoff{First: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if got := b.wait(n); got > want || got < want-want/5 {
				t.Fatalf("wait(%d) = %v, want %v less up to a fifth", n, got, want)
			}
		}
	}
	if got := b.wait(1 << 20); got > time.Second {
		t.Errorf("wait after many retries = %v, over Max", got)
	}
	if d := (Backoff{}).withDefaults(); d.First != DefaultRetryFirst || d.Max != DefaultRetryMax {
		t.Errorf("defaults %+v", d)
	}
	if d := (Backoff{First: 2 * time.Minute}).withDefaults(); d.Max != 2*time.Minute {
		t.Errorf("Max below First: %+v", d)
	}
}
