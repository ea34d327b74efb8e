package units

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "10": 10, "10B": 10, "1KB": 1000, "1kb": 1000, "1KiB": 1024, "512KiB": 512 << 10,
		"1MiB": 1 << 20, "1 MiB": 1 << 20, "10MB": 10e6, "2GiB": 2 << 30, "1GB": 1e9, "1TiB": 1 << 40, "3TB": 3e12,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "1.5MiB", "-1", "1 M", "1QB", "9223372036854775807KB", "99999999999999999999"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
