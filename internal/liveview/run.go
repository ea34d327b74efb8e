package liveview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// clearScreen moves the cursor home and clears the screen, so each tick
// redraws in place.
const clearScreen = "\x1b[H\x1b[2J"

// Option configures Run.
type Option func(*options)

type options struct {
	redraw *bool
}

// WithClear forces redrawing in place with ANSI codes (true) or printing
// blocks separated by a blank line (false). By default Run clears only when
// w is a terminal.
func WithClear(redraw bool) Option {
	return func(o *options) { o.redraw = &redraw }
}

// Run prints the view of g to w every tick until ctx is done, then returns
// nil. It returns early if gathering or writing fails.
func Run(ctx context.Context, g prometheus.Gatherer, w io.Writer, every time.Duration, opts ...Option) error {
	if every <= 0 {
		return errors.New("liveview: tick must be positive")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	redraw := isTerminal(w)
	if o.redraw != nil {
		redraw = *o.clear
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
		case redraw:
			buf.WriteString(clearScreen)
		case !first:
			buf.WriteByte('\n')
		}
		fmt.Fprintf(&buf, "gatescale  %s  (last %s)\n\n", now.Format(time.TimeOnly), now.Sub(last).Round(time.Millisecond))
		if err := Render(&buf, Compute(prev, cur, now.Sub(last)), Upstreams(cur)); err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("liveview: write: %w", err)
		}
		prev, last = cur, now
	}
}

// isTerminal reports whether w is a character device, which is what a
// terminal is; good enough to decide on ANSI codes without x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
