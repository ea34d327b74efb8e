package accesslog

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatescale/gatescale/gateway/outcome"
)

// Log is an access log whose options change at run time: Apply (or
// Prepare and Commit) swaps them atomically, so a request is logged wholly
// under the options in force when it started, and no line is lost when
// the output changes or is reopened.
type Log struct {
	state atomic.Pointer[state]
	out   sink
	mu    sync.Mutex // serialises Commit and Close
}

// state is one revision of the options, compiled for the request path.
type state struct {
	opts     Options
	off      bool
	format   Format
	fields   []string
	ratio    float64 // < 1: sample
	exact    map[string]struct{}
	prefixes []string
}

// New returns a Log with o in force; it opens o.Output.
func New(o Options) (*Log, error) {
	l := &Log{}
	p, err := l.Prepare(o)
	if err != nil {
		return nil, err
	}
	p.Commit()
	return l, nil
}

// Pending is a revision of the options made by Prepare: everything is
// checked and the output is open, but nothing is in force until Commit.
type Pending struct {
	l    *Log
	st   *state
	tgt  *target // nil: the output in force stays
	done bool
}

// Prepare validates o and opens its output if it differs from the one in
// force. A file that cannot be opened is a *FieldError for "output".
func (l *Log) Prepare(o Options) (*Pending, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	st := compile(o)
	p := &Pending{l: l, st: st}
	if cur := l.state.Load(); cur == nil || !sameOutput(cur.opts, o) {
		t, err := openTarget(o)
		if err != nil {
			return nil, err
		}
		p.tgt = t
	}
	return p, nil
}

// Commit puts the revision in force: requests that start from now on use
// it. A new output replaces the old one under the writers' lock, so every
// line goes wholly to one or the other; the old file is closed.
func (p *Pending) Commit() {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if p.tgt != nil {
		p.l.out.swap(p.tgt)
	}
	p.l.out.buffer(int(p.st.opts.Buffer), p.st.opts.FlushInterval.Std())
	p.l.state.Store(p.st)
}

// Discard drops the revision, closing an output it opened.
func (p *Pending) Discard() {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if p.tgt != nil {
		p.tgt.close()
	}
}

// Apply is Prepare and Commit.
func (l *Log) Apply(o Options) error {
	p, err := l.Prepare(o)
	if err != nil {
		return err
	}
	p.Commit()
	return nil
}

// Options returns the options in force.
func (l *Log) Options() Options {
	if st := l.state.Load(); st != nil {
		return st.opts
	}
	return Options{}
}

// Reopen opens the output file again by its path, for log rotation: after
// the file was renamed, new lines go to a new file of the original name.
// Lines written meanwhile go wholly to the old or the new file. Without a
// file output it does nothing.
func (l *Log) Reopen() error { return l.out.reopen() }

// ReopenOn calls Reopen whenever one of sigs (default SIGHUP) arrives,
// until ctx ends; errors go to onError if set. The signals are being
// listened for when it returns.
func (l *Log) ReopenOn(ctx context.Context, onError func(error), sigs ...os.Signal) {
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGHUP}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if err := l.Reopen(); err != nil && onError != nil {
					onError(err)
				}
			}
		}
	}()
}

// Flush writes the buffered lines now (see Options.Buffer).
func (l *Log) Flush() { l.out.flush() }

// Close writes the buffered lines and closes the output file, if any.
// Requests logged after Close are dropped.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.swap(&target{w: io.Discard})
}

func compile(o Options) *state {
	st := &state{opts: o, off: o.Disabled, format: o.Format, fields: o.Fields, ratio: 1}
	if st.format == "" {
		st.format = FormatJSON
	}
	if len(st.fields) == 0 {
		st.fields = DefaultFields
	}
	if o.SampleRatio != nil {
		st.ratio = *o.SampleRatio
	}
	for _, p := range o.ExcludePaths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			st.prefixes = append(st.prefixes, prefix)
			continue
		}
		if st.exact == nil {
			st.exact = map[string]struct{}{}
		}
		st.exact[p] = struct{}{}
	}
	return st
}

func (st *state) excluded(path string) bool {
	if _, ok := st.exact[path]; ok {
		return true
	}
	for _, p := range st.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Middleware logs each request that the options in force at its start
// select; see the package doc for the line. It adds nothing to a request
// when the log is disabled or the path excluded.
func (l *Log) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := l.state.Load()
		if st == nil || st.off || st.excluded(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := outcome.Wrap(w)
		panicked := true
		// Deferred so a panicking request is logged too (as a 500).
		defer func() { l.write(st, r, rec, start, panicked) }()
		next.ServeHTTP(rec, r)
		panicked = false
	})
}

func (l *Log) write(st *state, r *http.Request, rec *outcome.Recorder, start time.Time, panicked bool) {
	e := gather(r, rec, outcome.Status(r, rec, panicked), start, time.Now())
	if st.ratio < 1 && !e.failed() && rand.Float64() >= st.ratio {
		return
	}
	buf := bufs.Get().(*[]byte)
	b := st.appendLine((*buf)[:0], &e)
	l.out.write(b)
	if cap(b) <= 64<<10 {
		*buf = b
		bufs.Put(buf)
	}
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// target is where lines go: a file (reopenable by path) or a writer.
type target struct {
	w    io.Writer
	f    *os.File
	path string
}

func (t *target) close() {
	if t.f != nil {
		_ = t.f.Close()
	}
}

func openTarget(o Options) (*target, error) {
	switch {
	case o.Writer != nil:
		return &target{w: o.Writer}, nil
	case o.Output == "" || o.Output == OutputStderr:
		return &target{w: os.Stderr}, nil
	case o.Output == OutputStdout:
		return &target{w: os.Stdout}, nil
	}
	f, err := openFile(o.Output)
	if err != nil {
		return nil, &FieldError{Field: "output", Message: err.Error()}
	}
	return &target{w: f, f: f, path: o.Output}, nil
}

func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}

// sameOutput reports whether a and b write to the same place, so a new
// revision keeps the open output.
func sameOutput(a, b Options) bool {
	if a.Writer != nil || b.Writer != nil {
		if a.Writer == nil || b.Writer == nil || !reflect.TypeOf(a.Writer).Comparable() || !reflect.TypeOf(b.Writer).Comparable() {
			return false
		}
		return a.Writer == b.Writer
	}
	norm := func(s string) string {
		if s == "" {
			return OutputStderr
		}
		return s
	}
	return norm(a.Output) == norm(b.Output)
}

// sink serialises the lines: each is written under mu, whole, so lines
// never interleave and a swap or reopen falls between two lines. With a
// buffer, a Write carries the whole lines buffered; every path that lets
// go of a target (swap, reopen) or ends buffering writes them first, so
// none is lost to a change.
type sink struct {
	mu       sync.Mutex
	tgt      *target
	limit    int           // buffer size; 0: write each line at once
	interval time.Duration // the longest a buffered line waits
	buf      []byte
	timer    *time.Timer // flushes a buffer that is not filling up
}

func (s *sink) write(b []byte) {
	s.mu.Lock()
	switch {
	case s.tgt == nil:
	case s.limit == 0:
		_, _ = s.tgt.w.Write(b)
	default:
		if len(s.buf)+len(b) > s.limit {
			s.flushLocked()
		}
		if len(b) > s.limit {
			_, _ = s.tgt.w.Write(b)
			break
		}
		if len(s.buf) == 0 {
			// The first line of a batch starts the clock; no timer runs
			// while nothing waits.
			if s.timer == nil {
				s.timer = time.AfterFunc(s.interval, s.flush)
			} else {
				s.timer.Reset(s.interval)
			}
		}
		s.buf = append(s.buf, b...)
	}
	s.mu.Unlock()
}

// buffer sets the buffering of later lines, writing what the previous
// setting held.
func (s *sink) buffer(limit int, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit == s.limit && interval == s.interval {
		return
	}
	s.flushLocked()
	s.limit, s.interval = limit, interval
	if limit == 0 {
		s.buf = nil
	} else if cap(s.buf) < limit {
		s.buf = make([]byte, 0, limit)
	}
}

func (s *sink) flush() {
	s.mu.Lock()
	s.flushLocked()
	s.mu.Unlock()
}

func (s *sink) flushLocked() {
	if len(s.buf) == 0 {
		return
	}
	if s.tgt != nil {
		_, _ = s.tgt.w.Write(s.buf)
	}
	s.buf = s.buf[:0]
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *sink) swap(t *target) error {
	s.mu.Lock()
	s.flushLocked()
	old := s.tgt
	s.tgt = t
	s.mu.Unlock()
	if old != nil && old.f != nil {
		return old.f.Close()
	}
	return nil
}

func (s *sink) reopen() error {
	s.mu.Lock()
	path := ""
	if s.tgt != nil {
		path = s.tgt.path
	}
	s.mu.Unlock()
	if path == "" {
		return nil
	}
	f, err := openFile(path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.tgt == nil || s.tgt.path != path {
		// The output changed meanwhile: the new one is already fresh.
		s.mu.Unlock()
		return errors.Join(f.Close())
	}
	// What is buffered belongs to the time before the rotation.
	s.flushLocked()
	old := s.tgt
	s.tgt = &target{w: f, f: f, path: path}
	s.mu.Unlock()
	return old.f.Close()
}
