package reload

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Retryable marks err as a failure the same content may get past later:
// applying it needed something outside it that is not there yet (a file it
// names not readable yet, an environment variable not set, no Kubernetes
// configuration). A Loop refused such content applies it again on its own,
// on the schedule of Options.Retry, until it applies, newer content
// arrives or Run ends. Content that is itself wrong must not be marked:
// only new content can change it. Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err}
}

type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func isRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

// Backoff is the schedule of retries: the first comes First after the
// refusal, each next one twice as long after the last, at most Max; each
// wait is shortened by up to a fifth at random, so that replicas refused
// together do not retry together. Zero fields take the defaults.
type Backoff struct {
	// First is the wait before the first retry (default 1s).
	First time.Duration
	// Max is the longest wait (default 1 min; at least First).
	Max time.Duration
}

// Default retry schedule.
const (
	DefaultRetryFirst = time.Second
	DefaultRetryMax   = time.Minute
)

func (b Backoff) withDefaults() Backoff {
	if b.First <= 0 {
		b.First = DefaultRetryFirst
	}
	if b.Max <= 0 {
		b.Max = DefaultRetryMax
	}
	b.Max = max(b.Max, b.First)
	return b
}

// wait returns the wait after n retries made (0: before the first).
func (b Backoff) wait(n int) time.Duration {
	d := b.First
	for range n {
		if d >= b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	return d - rand.N(d/5+1)
}
