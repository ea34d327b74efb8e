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
// may have changed: the Loop keeps reporting the revision in force.
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
}

// Options configure a Loop.
type Options struct {
	// Logger logs reloads, refusals and settings waiting for a restart
	// (default slog.Default()).
	Logger *slog.Logger
	// Metrics, if set, get the outcome of each load and reload.
	Metrics *Metrics
}

// Loop applies the revisions a Source delivers. Load it once at start-up,
// then Run it; Status and StatusHandler may be used at any time.
type Loop struct {
	src     Source
	apply   ApplyFunc
	logger  *slog.Logger
	metrics *Metrics

	mu      sync.Mutex
	status  Status
	applied [32]byte // content hash in force
	refused [32]byte // content hash last refused, to log it once
}

// NewLoop returns a Loop that applies src's content with apply.
func NewLoop(src Source, apply ApplyFunc, opts Options) *Loop {
	l := &Loop{src: src, apply: apply, logger: opts.Logger, metrics: opts.Metrics}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.status = Status{Source: src.String(), RestartRequired: []string{}, Warnings: []string{}}
	return l
}

// Load reads the source and applies it: the start-up load, whose error a
// program usually stops on. It is not counted as a reload.
func (l *Loop) Load(ctx context.Context) error {
	data, err := l.src.Read(ctx)
	if err == nil {
		err = l.attempt(ctx, data, false)
	}
	if err != nil {
		l.record(data, err, nil) // not logged: nothing runs yet, the caller reports it
	}
	return err
}

// Run follows the source until ctx ends, applying each new content.
func (l *Loop) Run(ctx context.Context) {
	l.src.Watch(ctx, func(u Update) { l.handle(ctx, u) })
}

func (l *Loop) handle(ctx context.Context, u Update) {
	if u.Err != nil {
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
			l.recovered()
			return
		}
		if refused {
			return
		}
	}
	if err := l.attempt(ctx, u.Data, true); err != nil {
		l.count("error")
		l.refuse(u.Data, err)
		return
	}
	l.count("ok")
}

// attempt applies data and records it as the revision in force.
func (l *Loop) attempt(ctx context.Context, data []byte, reload bool) error {
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
	l.logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
	for _, w := range warnings {
		l.logger.Warn("configuration applied with a warning", "source", l.status.Source, "revision", rev, "warning", w)
	}
	if len(restart) > 0 {
		l.logger.Warn("these settings changed but keep their running values until a restart; the rest of the configuration is applied",
			"source", l.status.Source, "revision", rev, "restart_required", restart)
	}

	l.mu.Lock()
	l.applied, l.refused = hash(data), [32]byte{}
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

// refuse records and logs a failure to read or apply data (nil: to read).
// As in attempt, the log line comes before the status says so.
func (l *Loop) refuse(data []byte, err error) {
	l.record(data, err, func(refused, inForce string) {
		l.logger.Error("configuration refused; the running one stays in force",
			"source", l.status.Source, "refused_revision", refused, "revision", inForce, "err", err.Error())
	})
}

// record puts a failure in the metrics, calls log (if set) with the
// refused revision and the one in force, and then puts it in the status.
func (l *Loop) record(data []byte, err error, log func(refused, inForce string)) {
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
		l.refused = hash(data)
	}
	l.status.LastError, l.status.RefusedRevision, l.status.LastErrorAt = err.Error(), refused, time.Now()
	l.mu.Unlock()
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
