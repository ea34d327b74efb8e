package grpcproxy

import (
	"errors"
	"strconv"
	"time"
)

// maxTimeoutDigits is the spec's limit: TimeoutValue is 1 to 8 digits.
const maxTimeoutDigits = 8

var errBadTimeout = errors.New("grpc-timeout: not 1 to 8 digits and a unit (H, M, S, m, u or n)")

// ParseTimeout parses a grpc-timeout header value ("100m", "5S", "1H"): 1
// to 8 ASCII digits and a unit, H hours, M minutes, S seconds, m
// milliseconds, u microseconds, n nanoseconds.
func ParseTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > maxTimeoutDigits+1 {
		return 0, errBadTimeout
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, errBadTimeout
	}
	var n int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadTimeout
		}
		n = n*10 + int64(c-'0')
	}
	// 99999999 hours overflows a Duration: cap it, it means "no deadline".
	if n > int64(maxDuration/unit) {
		return maxDuration, nil
	}
	return time.Duration(n) * unit, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// FormatTimeout encodes d as a grpc-timeout value in the finest unit that
// fits in 8 digits (so the rounding, up, is below a millionth of d). d <= 0
// gives "1n": already expired.
func FormatTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	const max = 99999999
	for _, u := range []struct {
		unit time.Duration
		c    byte
	}{{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'}, {time.Second, 'S'}, {time.Minute, 'M'}, {time.Hour, 'H'}} {
		n := (d + u.unit - 1) / u.unit
		if n <= max {
			return strconv.FormatInt(int64(n), 10) + string(u.c)
		}
	}
	return "99999999H"
}
