package liveview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClearScreen moves the cursor home and clears the screen; with clear set,
// every frame Run writes starts with it, so each tick redraws in place.
const ClearScreen = "\x1b[H\x1b[2J"

// Run prints the view of g to w every tick until ctx is done, then returns
// nil. With clear, each frame redraws the screen (for a terminal); without,
// frames are separated by a blank line (for logs and pipes). Each frame is
// one Write. Run returns early if gathering or writing fails.
func Run(ctx context.Context, g prometheus.Gatherer, w io.Writer, every time.Duration, clear bool) error {
	if every <= 0 {
		return errors.New("liveview: tick must be positive")
	}
	prev, err := g.Gather()
	if err != nil {
		return fmt.Errorf("liveview: gather: %w", err)
	}
	last := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	var buf bytes.Buffer
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now() // the real gap, not the nominal tick: ticks drift
		cur, err := g.Gather()
		if err != nil {
			return fmt.Errorf("liveview: gather: %w", err)
		}
		buf.Reset()
		switch {
		case clear:
			buf.WriteString(ClearScreen)
		case !first:
			buf.WriteByte('\n')
		}
		fmt.Fprintf(&buf, "%s  (last %s)\n\n", now.Format(time.TimeOnly), now.Sub(last).Round(time.Millisecond))
		if err := Render(&buf, Compute(prev, cur, now.Sub(last)), Upstreams(cur)); err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("liveview: write: %w", err)
		}
		prev, last = cur, now
	}
}
