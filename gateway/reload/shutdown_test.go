package reload_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// TestRunEndingStopsDueRetry: a retry that falls due just as Run ends is
// not made: no apply with the ending context, and no "configuration
// refused" line at shutdown for what that apply says (here the cancelled
// context, as an apply that heeds its context reports). Run is given a
// context already cancelled while a retry is due, so its end and the
// retry's timer are both ready at once; each of many loops used to make
// that retry about every other time.
func TestRunEndingStopsDueRetry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("needs key.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs logcapture.Buffer
	var retries atomic.Int32
	for range 100 {
		var loaded bool
		loop := reload.NewLoop(reload.NewFile(path, 0), func(ctx context.Context, data []byte) (reload.Result, error) {
			if !loaded {
				loaded = true
				return reload.Result{}, reload.Retryable(errors.New("c.yaml:1:7: key.pem: no such file"))
			}
			retries.Add(1)
			if err := ctx.Err(); err != nil {
				return reload.Result{}, err
			}
			return reload.Result{}, reload.Retryable(errors.New("c.yaml:1:7: key.pem: no such file"))
		}, reload.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Retry: reload.Backoff{First: time.Nanosecond}})
		if err := loop.Load(context.Background()); err == nil {
			t.Fatal("Load applied content refused as retryable")
		}
		r := loop.Status().Retry
		if r == nil {
			t.Fatal("no retry after a retryable refusal")
		}
		// Due before Run starts: the timer fires as soon as it is set.
		for time.Now().Before(r.NextAt) {
			time.Sleep(time.Until(r.NextAt))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		loop.Run(ctx)
	}
	if n := retries.Load(); n != 0 {
		t.Errorf("%d retries made by a Run that was ending", n)
	}
	if n := strings.Count(logs.String(), "configuration refused"); n != 0 {
		t.Errorf("%d \"configuration refused\" lines at shutdown:\n%s", n, logs.String())
	}
}

// TestRunEndingDuringRetryLogsNothing: Run ending while a retry's apply
// runs cuts that apply short; what it returns is not a refusal of the
// content, and is not logged as one at shutdown. The apply itself ends
// Run (cancels its context), so the order is fixed.
func TestRunEndingDuringRetryLogsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("needs key.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs logcapture.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var applies int
	loop := reload.NewLoop(reload.NewFile(path, 0), func(actx context.Context, data []byte) (reload.Result, error) {
		applies++
		if applies == 1 { // Load's
			return reload.Result{}, reload.Retryable(errors.New("c.yaml:1:7: key.pem: no such file"))
		}
		cancel() // the program shuts down while the retry applies
		return reload.Result{}, actx.Err()
	}, reload.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Retry: reload.Backoff{First: time.Nanosecond}})
	if err := loop.Load(context.Background()); err == nil {
		t.Fatal("Load applied content refused as retryable")
	}
	loop.Run(ctx)
	if applies != 2 {
		t.Fatalf("%d applies, want Load's and one retry", applies)
	}
	if n := strings.Count(logs.String(), "configuration refused"); n != 0 {
		t.Errorf("%d \"configuration refused\" lines at shutdown:\n%s", n, logs.String())
	}
	if s := loop.Status(); s.Retry == nil || strings.Contains(s.LastError, "canceled") {
		t.Errorf("status after Run ended during a retry: %+v (the retry and its error should stay as they were)", s)
	}
}
