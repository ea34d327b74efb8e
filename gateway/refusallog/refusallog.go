package refusallog

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
)

// Defaults of Options.
const (
	DefaultPerSecond = 1.0
	DefaultBurst     = 5
	DefaultMaxPath   = 256
	// maxReasons bounds the buckets; further reasons share "other". The
	// route table's reasons are a fixed set far below it.
	maxReasons  = 32
	maxReason   = 128
	maxMethod   = 16
	otherReason = "other"
)

// Options bound what the log writes. Zero fields take the defaults.
type Options struct {
	// PerSecond is the sustained lines per second of each reason.
	PerSecond float64
	// Burst is how many lines a reason may write at once.
	Burst int
	// MaxPath is the most bytes of the path a line shows.
	MaxPath int
}

// Logger is the rate-limited log of refused requests. Its methods are safe
// for concurrent use.
type Logger struct {
	logger *slog.Logger
	o      Options

	mu      sync.Mutex
	reasons map[string]*bucket
	closed  bool
}

type bucket struct {
	lim        *rate.Limiter
	suppressed int64
	timer      *time.Timer // pending summary of suppressed lines
}

// New returns a Logger writing to logger at level Warn.
func New(logger *slog.Logger, o Options) *Logger {
	if o.PerSecond <= 0 {
		o.PerSecond = DefaultPerSecond
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxPath <= 0 {
		o.MaxPath = DefaultMaxPath
	}
	return &Logger{logger: logger, o: o, reasons: map[string]*bucket{}}
}

// Middleware logs the requests that next (a route table's chain for
// refused requests) recorded under the route request.Refused, with the
// reason the table gave.
func (l *Logger) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if outcome.Route(r) != request.Refused {
			return
		}
		reason := otherReason
		if info := request.InfoFrom(r.Context()); info != nil {
			if e, ok := strings.CutPrefix(info.State().Error, "refused: "); ok {
				reason = e
			}
		}
		l.Log(r, reason)
	})
}

// Log writes a line for r, refused for reason, or counts it as suppressed
// when the reason's bucket is empty.
func (l *Logger) Log(r *http.Request, reason string) {
	ctx := r.Context()
	if !l.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	reason = Sanitize(reason, maxReason)
	l.mu.Lock()
	reason, b := l.bucket(reason)
	if !b.lim.Allow() {
		b.suppressed++
		if b.timer == nil && !l.closed {
			b.timer = time.AfterFunc(l.interval(), func() { l.summarize(reason) })
		}
		l.mu.Unlock()
		return
	}
	suppressed := b.suppressed
	b.suppressed = 0
	l.mu.Unlock()

	path := r.URL.EscapedPath()
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("reason", reason),
		slog.String("method", Sanitize(r.Method, maxMethod)),
		slog.String("path", Sanitize(path, l.o.MaxPath)),
	)
	if len(path) > l.o.MaxPath {
		attrs = append(attrs, slog.Int("path_bytes", len(path)))
	}
	attrs = append(attrs, slog.String("client", Sanitize(client(r), 64)))
	if id := requestid.From(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", Sanitize(id, 128)))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int64("suppressed", suppressed))
	}
	l.logger.LogAttrs(ctx, slog.LevelWarn, "request refused", attrs...)
}

// bucket returns the bucket of reason and its key: the reason, or "other"
// once maxReasons have one. l.mu is held.
func (l *Logger) bucket(reason string) (string, *bucket) {
	if b, ok := l.reasons[reason]; ok {
		return reason, b
	}
	if len(l.reasons) >= maxReasons {
		reason = otherReason
		if b, ok := l.reasons[reason]; ok {
			return reason, b
		}
	}
	b := &bucket{lim: rate.NewLimiter(rate.Limit(l.o.PerSecond), l.o.Burst)}
	l.reasons[reason] = b
	return reason, b
}

func (l *Logger) interval() time.Duration {
	return time.Duration(float64(time.Second) / l.o.PerSecond)
}

// summarize writes the count of reason's suppressed lines when its bucket
// has a token again and no refused request has carried the count since.
func (l *Logger) summarize(reason string) {
	l.mu.Lock()
	b := l.reasons[reason]
	b.timer = nil
	n := b.suppressed
	if n == 0 || l.closed {
		l.mu.Unlock()
		return
	}
	if !b.lim.Allow() {
		b.timer = time.AfterFunc(l.interval(), func() { l.summarize(reason) })
		l.mu.Unlock()
		return
	}
	b.suppressed = 0
	l.mu.Unlock()
	l.writeSummary(reason, n)
}

func (l *Logger) writeSummary(reason string, n int64) {
	l.logger.LogAttrs(context.Background(), slog.LevelWarn, "refused requests not logged",
		slog.String("reason", reason), slog.Int64("suppressed", n))
}

// Close writes the counts still suppressed, so none is lost at shutdown,
// and stops the pending summaries. Log after Close still counts and logs
// within the budget, but schedules no summary.
func (l *Logger) Close() {
	l.mu.Lock()
	l.closed = true
	type pending struct {
		reason string
		n      int64
	}
	var out []pending
	for reason, b := range l.reasons {
		if b.timer != nil {
			b.timer.Stop()
			b.timer = nil
		}
		if b.suppressed > 0 {
			out = append(out, pending{reason, b.suppressed})
			b.suppressed = 0
		}
	}
	l.mu.Unlock()
	for _, p := range out {
		l.writeSummary(p.reason, p.n)
	}
}

// client returns r's client address as the route table decided it, or the
// TCP peer.
func client(r *http.Request) string {
	if info := request.InfoFrom(r.Context()); info != nil {
		if c, ok := info.Client(); ok && c.Host != "" {
			return c.Host
		}
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Sanitize returns s safe for one log line: every byte outside printable
// ASCII (controls, DEL, the bytes of multi-byte characters) is written as
// %XX, and the result is cut to at most limit bytes (at least 8),
// ending in "..." when cut, never inside an escape.
func Sanitize(s string, limit int) string {
	limit = max(limit, 8)
	in := s[:min(len(s), limit+1)] // each byte is at least one byte out: the rest is cut anyway
	clean := len(in) == len(s)
	for i := 0; clean && i < len(in); i++ {
		clean = in[i] >= ' ' && in[i] < 0x7f
	}
	if clean && len(s) <= limit {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(in)+16)
	for i := 0; i < len(in); i++ {
		if c := in[i]; c < ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	if len(b) <= limit && len(in) == len(s) {
		return string(b)
	}
	k := limit - 3
	switch {
	case b[k-1] == '%':
		k--
	case b[k-2] == '%':
		k -= 2
	}
	return string(b[:k]) + "..."
}
