package reload

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ApplyFunc applies one revision of the configuration. On error nothing
// may have changed: the Loop keeps reporting the revision in force. An
// error marked Retryable (applying needed something outside the content
// that is not there yet) makes the Loop apply the same content again on
// its own; any other refusal waits for new content.
type ApplyFunc func(ctx context.Context, data []byte) (Result, error)

// Result is what an ApplyFunc tells the Loop about an applied revision.
type Result struct {
	// RestartRequired are the key paths of settings that differ from those
	// the process started with and take effect only after a restart
	// (listen, tls.cert_file...). Everything else was applied.
	RestartRequired []string
	// Attrs are logged with the reload (say, the number of routes).
	Attrs []slog.Attr
	// Warnings are what the revision was warned about but applied with
	// (say, route shadowing findings): each is logged as a warning and
	// listed in the Status.
	Warnings []string
}

// Status is what a Loop has applied, as StatusHandler serves it.
type Status struct {
	// Source names where the configuration comes from.
	Source string `json:"source"`
	// Revision is the revision in force (see Revision); empty before the
	// first load.
	Revision string `json:"revision"`
	// AppliedAt is when it was applied.
	AppliedAt time.Time `json:"applied_at,omitzero"`
	// LastError is why the latest revision read was refused; empty when
	// the latest one applied.
	LastError string `json:"last_error,omitempty"`
	// RefusedRevision is the revision LastError is about; LastErrorAt is
	// when it was refused.
	RefusedRevision string    `json:"refused_revision,omitempty"`
	LastErrorAt     time.Time `json:"last_error_at,omitzero"`
	// RestartRequired are the settings of the revision in force that wait
	// for a restart (see Result).
	RestartRequired []string `json:"restart_required"`
	// Warnings are the warnings of the revision in force (see Result).
	Warnings []string `json:"warnings"`
	// Retry is set while a refused revision is applied again on its own
	// (its error was Retryable).
	Retry *RetryStatus `json:"retry,omitempty"`
}

// RetryStatus says how a refused revision is being retried.
type RetryStatus struct {
	// Revision is the revision retried: the latest content read.
	Revision string `json:"revision"`
	// Retries is how many retries were made so far, all refused.
	Retries int `json:"retries"`
	// NextAt is when the next one is due (while Run runs).
	NextAt time.Time `json:"next_at"`
}

// Options configure a Loop.
type Options struct {
	// Logger logs reloads, refusals and settings waiting for a restart
	// (default slog.Default()).
	Logger *slog.Logger
	// Metrics, if set, get the outcome of each load and reload.
	Metrics *Metrics
	// Retry is the schedule of the retries of content refused with a
	// Retryable error (default 1s doubling up to 1 min).
	Retry Backoff
}

// Loop applies the revisions a Source delivers. Load it once at start-up,
// then Run it; Status and StatusHandler may be used at any time.
type Loop struct {
	src     Source
	apply   ApplyFunc
	logger  *slog.Logger
	metrics *Metrics
	backoff Backoff

	// applying is held across each apply and what it decides: the
	// source's updates and the retries take turns.
	applying sync.Mutex
	// rescheduled wakes Run's retry timer when the retry changed.
	rescheduled chan struct{}

	mu      sync.Mutex
	status  Status
	applied [32]byte // content hash in force
	refused [32]byte // content hash last refused, to log it once
	retry   *retry   // the refused content retried, if any
}

// retry is refused content that is applied again on its own.
type retry struct {
	data    []byte
	retries int       // made so far, all refused
	due     time.Time // of the next one
	err     string    // the error last logged: a retry logs only a change
}

// NewLoop returns a Loop that applies src's content with apply.
func NewLoop(src Source, apply ApplyFunc, opts Options) *Loop {
	l := &Loop{src: src, apply: apply, logger: opts.Logger, metrics: opts.Metrics,
		backoff: opts.Retry.withDefaults(), rescheduled: make(chan struct{}, 1)}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.status = Status{Source: src.String(), RestartRequired: []string{}, Warnings: []string{}}
	return l
}

// Load reads the source and applies it: the start-up load, whose error a
// program usually stops on. It is not counted as a reload. Content refused
// with a Retryable error is retried once Run runs.
func (l *Loop) Load(ctx context.Context) error {
	l.applying.Lock()
	defer l.applying.Unlock()
	data, err := l.src.Read(ctx)
	if err == nil {
		err = l.attempt(ctx, data, false, 0)
	}
	if err != nil {
		// Not logged: nothing runs yet, the caller reports it.
		l.record(data, err, l.retryOf(data, err, 0), nil)
	}
	return err
}

// Run follows the source until ctx ends, applying each new content, and
// retries refused content whose error was Retryable.
func (l *Loop) Run(ctx context.Context) {
	ctx, stop := context.WithCancel(ctx)
	retrying := make(chan struct{})
	go func() { defer close(retrying); l.retryWhenDue(ctx) }()
	defer func() { stop(); <-retrying }()
	l.src.Watch(ctx, func(u Update) { l.handle(ctx, u) })
}

func (l *Loop) handle(ctx context.Context, u Update) {
	l.applying.Lock()
	defer l.applying.Unlock()
	if u.Err != nil {
		// A retry goes on: its content is still the latest read.
		l.count("error")
		l.refuse(nil, u.Err)
		return
	}
	if !u.Forced {
		h := hash(u.Data)
		l.mu.Lock()
		inForce, refused := h == l.applied, h == l.refused
		l.mu.Unlock()
		if inForce {
			if l.retrying(h) {
				// A forced reload of the content in force was refused for
				// want of a file it names: reading the same content again
				// does not do that reload, the retry still has to.
				return
			}
			l.cancelRetry() // the refused content is gone
			l.recovered()
			return
		}
		if refused {
			return // retried on its own if it can pass
		}
	}
	// New content supersedes a retry; a forced reload starts it over.
	l.cancelRetry()
	if err := l.attempt(ctx, u.Data, true, 0); err != nil {
		l.count("error")
		l.refuse(u.Data, err)
		return
	}
	l.count("ok")
}

// retryOf returns the retry of data refused with err after retries
// retries, or nil if err is not Retryable (or data was not read).
func (l *Loop) retryOf(data []byte, err error, retries int) *retry {
	if data == nil || !isRetryable(err) {
		return nil
	}
	return &retry{data: data, retries: retries, due: time.Now().Add(l.backoff.wait(retries)), err: err.Error()}
}

// retrying reports whether the content of hash h is being retried.
func (l *Loop) retrying(h [32]byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retry != nil && hash(l.retry.data) == h
}

func (l *Loop) cancelRetry() {
	l.mu.Lock()
	r := l.retry
	l.retry = nil
	l.mu.Unlock()
	if r != nil {
		l.wake()
	}
}

func (l *Loop) wake() {
	select {
	case l.rescheduled <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// retryWhenDue retries the refused content when due, until ctx ends.
func (l *Loop) retryWhenDue(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var due <-chan time.Time
		l.mu.Lock()
		if r := l.retry; r != nil {
			timer.Reset(time.Until(r.due))
			due = timer.C
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-l.rescheduled:
			timer.Stop()
		case <-due:
			// Run's end and the timer may be ready together, and select
			// picks either: a retry then would apply with the ending
			// context and log its failure at shutdown.
			if ctx.Err() != nil {
				return
			}
			l.retryNow(ctx)
		}
	}
}

// retryNow applies the refused content again, if it is still the one to
// retry and due: an update may have come first.
func (l *Loop) retryNow(ctx context.Context) {
	l.applying.Lock()
	defer l.applying.Unlock()
	l.mu.Lock()
	r := l.retry
	l.mu.Unlock()
	if r == nil || time.Now().Before(r.due) {
		return
	}
	retries := r.retries + 1
	err := l.attempt(ctx, r.data, true, retries)
	if err == nil {
		l.count("ok")
		return
	}
	if ctx.Err() != nil {
		// Run ended during the retry: its apply was cut short, not the
		// content refused; the retry stays as it was.
		return
	}
	l.count("error")
	if !isRetryable(err) {
		l.refuse(r.data, err) // the retries end here
		return
	}
	next := l.retryOf(r.data, err, retries)
	l.record(r.data, err, next, func(refused, inForce string) {
		// The first refusal was logged; a retry refused alike would
		// repeat it at every retry.
		level, msg := slog.LevelDebug, "configuration retry refused"
		if next.err != r.err {
			level, msg = slog.LevelError, "configuration retry refused with a new error; the running one stays in force"
		}
		l.logger.Log(ctx, level, msg, "source", l.status.Source, "refused_revision", refused, "revision", inForce,
			"retries", retries, "retry_in", time.Until(next.due).Round(time.Millisecond).String(), "err", err.Error())
	})
}

// attempt applies data and records it as the revision in force; retries
// is how many retries this is (0: not a retry).
func (l *Loop) attempt(ctx context.Context, data []byte, reload bool, retries int) error {
	res, err := l.apply(ctx, data)
	if err != nil {
		return err
	}
	rev, now := Revision(data), time.Now()
	restart := slices.Clone(res.RestartRequired)
	if restart == nil {
		restart = []string{}
	}
	warnings := append([]string{}, res.Warnings...)
	l.mu.Lock()
	prev := l.status.Revision
	l.mu.Unlock()

	// Metrics and logs first, the status last: whoever sees the new
	// revision in the status (the admin API, a test) finds the metrics
	// and the log lines already saying so. The new revision's series is
	// set before the old one goes, so a scrape never finds none.
	if m := l.metrics; m != nil {
		m.revision.WithLabelValues(rev).Set(1)
		if prev != "" && prev != rev {
			m.revision.DeleteLabelValues(prev)
		}
		m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
		m.successful.Set(1)
	}
	msg := "configuration loaded"
	if reload {
		msg = "configuration reloaded"
	}
	attrs := append([]slog.Attr{slog.String("source", l.status.Source), slog.String("revision", rev)}, res.Attrs...)
	if retries > 0 {
		attrs = append(attrs, slog.Int("retries", retries))
	}
	l.logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
	for _, w := range warnings {
		l.logger.Warn("configuration applied with a warning", "source", l.status.Source, "revision", rev, "warning", w)
	}
	if len(restart) > 0 {
		l.logger.Warn("these settings changed but keep their running values until a restart; the rest of the configuration is applied",
			"source", l.status.Source, "revision", rev, "restart_required", restart)
	}

	l.mu.Lock()
	l.applied, l.refused, l.retry = hash(data), [32]byte{}, nil
	l.status.Revision, l.status.AppliedAt, l.status.RestartRequired = rev, now, restart
	l.status.Warnings = warnings
	l.status.LastError, l.status.RefusedRevision, l.status.LastErrorAt = "", "", time.Time{}
	l.mu.Unlock()
	return nil
}

// recovered clears a failure once the latest content read is the one in
// force again (a bad edit reverted, a source readable again): the status
// and last_reload_successful describe the latest content, and it applies.
func (l *Loop) recovered() {
	l.mu.Lock()
	failed, rev := l.status.LastError != "", l.status.Revision
	l.mu.Unlock()
	if !failed {
		return
	}
	// As in attempt: metrics and log first, the status last.
	if m := l.metrics; m != nil {
		m.successful.Set(1)
	}
	l.logger.Info("configuration back to the revision in force", "source", l.status.Source, "revision", rev)
	l.mu.Lock()
	l.refused = [32]byte{}
	l.status.LastError, l.status.RefusedRevision, l.status.LastErrorAt = "", "", time.Time{}
	l.mu.Unlock()
}

// refuse records and logs a failure to read or apply data (nil: to read),
// and retries data if err is Retryable. As in attempt, the log line comes
// before the status says so.
func (l *Loop) refuse(data []byte, err error) {
	next := l.retryOf(data, err, 0)
	l.record(data, err, next, func(refused, inForce string) {
		attrs := []any{"source", l.status.Source, "refused_revision", refused, "revision", inForce, "err", err.Error()}
		if next != nil {
			attrs = append(attrs, "retry_in", time.Until(next.due).Round(time.Millisecond).String())
		}
		l.logger.Error("configuration refused; the running one stays in force", attrs...)
	})
}

// record puts a failure in the metrics, calls log (if set) with the
// refused revision and the one in force, and then puts it in the status.
// A refusal of data makes next the retry (nil: none); a failure to read
// (nil data) leaves the retry as it is: its content is still the latest.
func (l *Loop) record(data []byte, err error, next *retry, log func(refused, inForce string)) {
	var refused string
	if data != nil {
		refused = Revision(data)
	}
	l.mu.Lock()
	inForce := l.status.Revision
	l.mu.Unlock()
	if m := l.metrics; m != nil {
		m.successful.Set(0)
	}
	if log != nil {
		log(refused, inForce)
	}
	l.mu.Lock()
	if data != nil {
		l.refused, l.retry = hash(data), next
	}
	l.status.LastError, l.status.RefusedRevision, l.status.LastErrorAt = err.Error(), refused, time.Now()
	l.mu.Unlock()
	if data != nil {
		l.wake()
	}
}

func (l *Loop) count(result string) {
	if l.metrics != nil {
		l.metrics.reloads.WithLabelValues(result).Inc()
	}
}

// Status returns what is in force and how the latest attempt went.
func (l *Loop) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.status
	s.RestartRequired = slices.Clone(s.RestartRequired)
	s.Warnings = slices.Clone(s.Warnings)
	if r := l.retry; r != nil {
		s.Retry = &RetryStatus{Revision: Revision(r.data), Retries: r.retries, NextAt: r.due}
	}
	return s
}

// StatusHandler serves Status as JSON, e.g. on the admin listener's
// /config.
func (l *Loop) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(l.Status())
	})
}
