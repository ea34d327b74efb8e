package grpcproxy

import (
	"testing"
	"time"
)

func TestParseTimeout(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"1H": time.Hour, "2M": 2 * time.Minute, "3S": 3 * time.Second, "100m": 100 * time.Millisecond,
		"5u": 5 * time.Microsecond, "7n": 7, "99999999n": 99999999, "0S": 0, "99999999H": maxDuration,
	} {
		if got, err := ParseTimeout(s); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "S", "1", "1s", "-1S", "123456789S", "1.5S", " 1S", "1 S", "soon"} {
		if _, err := ParseTimeout(s); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", s)
		}
	}
}

func TestFormatTimeoutRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{1, 999, 99999999, 100000000, 1500 * time.Millisecond, 99 * time.Second,
		100 * time.Second, 27 * time.Hour, 200000 * time.Hour} {
		s := FormatTimeout(d)
		got, err := ParseTimeout(s)
		if err != nil {
			t.Fatalf("FormatTimeout(%v) = %q: %v", d, s, err)
		}
		// Rounded up, by less than a millionth (plus one unit of the finest scale).
		if got < d || float64(got-d) > float64(d)/1e6+1 {
			t.Errorf("FormatTimeout(%v) = %q = %v", d, s, got)
		}
	}
	if FormatTimeout(-time.Second) != "1n" {
		t.Errorf("expired: %q", FormatTimeout(-time.Second))
	}
}

// FuzzParseTimeout: the header is the caller's; whatever it says, parsing
// neither panics nor gives a negative duration, and what it accepts
// formats back to an equivalent value.
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1H", "100m", "99999999n", "0S", "x", "", "12345678u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeout(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseTimeout(%q) = %v", s, d)
		}
		if d > 0 && d < maxDuration {
			back, err := ParseTimeout(FormatTimeout(d))
			if err != nil || back < d {
				t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, FormatTimeout(d), back, err)
			}
		}
	})
}
