package refusallog_test

import (
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/refusallog"
)

// Whatever a client sends, a sanitised value is printable ASCII within its
// bound, and a value that needed nothing is kept as it is.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"/a%2Fb", "/log\r\nforged", "\x1b[2J", "/caf\xc3\xa9", strings.Repeat("\n", 40), ""} {
		f.Add(s, 16)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit %= 1 << 12
		got := refusallog.Sanitize(s, limit)
		if len(got) > max(limit, 8) {
			t.Fatalf("%d bytes over the limit %d: %q", len(got), limit, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < ' ' || c >= 0x7f {
				t.Fatalf("byte %#x in %q", c, got)
			}
		}
		clean := true
		for i := 0; i < len(s); i++ {
			clean = clean && s[i] >= ' ' && s[i] < 0x7f
		}
		if clean && len(s) <= max(limit, 8) && got != s {
			t.Fatalf("a clean value was changed: %q -> %q", s, got)
		}
	})
}
