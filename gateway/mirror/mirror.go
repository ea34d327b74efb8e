package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/units"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Defaults of the Policy fields left zero.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultTimeout      = 10 * time.Second
	DefaultMaxInFlight  = 64
)

// Policy is a route's mirror: the YAML and JSON model (spec.Route.Mirror).
type Policy struct {
	// Upstream receives the copies; it must be defined, and not be the
	// route's own upstream.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Percent of the route's requests are copied, 0 to 100 (default 100;
	// 0 pauses the mirror).
	Percent *int `yaml:"percent,omitempty" json:"percent,omitempty"`
	// MaxBodyBytes is the largest request body copied (default 64KiB); a
	// request with a larger one is not mirrored.
	MaxBodyBytes units.Size `yaml:"max_body_bytes,omitempty" json:"max_body_bytes,omitempty"`
	// Timeout bounds each copy, answer included (default 10s).
	Timeout units.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxInFlight bounds the copies in flight (default 64); beyond it
	// requests are not mirrored.
	MaxInFlight int `yaml:"max_in_flight,omitempty" json:"max_in_flight,omitempty"`
	// Header, when set, is added to each copy with the route's name as
	// its value.
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
}

// FieldError is a problem with one field of a Policy; Field is its YAML
// key, for the caller to place under the route.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate returns every problem of p, each at its field. Whether Upstream
// is defined is the caller's to check: p does not know the upstreams.
func (p *Policy) Validate() []*FieldError {
	var out []*FieldError
	bad := func(field, format string, args ...any) {
		out = append(out, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if p.Upstream == "" {
		bad("upstream", "is required: the upstream that receives the copies")
	}
	if p.Percent != nil && (*p.Percent < 0 || *p.Percent > 100) {
		bad("percent", "%d is not a percentage (0-100)", *p.Percent)
	}
	if p.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must not be negative")
	}
	if p.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if p.MaxInFlight < 0 {
		bad("max_in_flight", "must not be negative")
	}
	if p.Header != "" && !httpguts.ValidHeaderFieldName(p.Header) {
		bad("header", "%q is not a valid header name", p.Header)
	}
	return out
}

// Option configures a Mirror.
type Option func(*Mirror)

// WithMetrics counts the copies' outcomes in m.
func WithMetrics(m *Metrics) Option { return func(mr *Mirror) { mr.metrics = m } }

// WithContext sets the Mirror's lifetime: when ctx ends, copies in flight
// are cut (a closed gateway). Default: context.Background(), each copy
// bounded by its timeout alone.
func WithContext(ctx context.Context) Option { return func(mr *Mirror) { mr.ctx = ctx } }

// WithPrevious makes the Mirror one more build of prev's route (a reload):
// prev's copies still in flight count against the new Mirror's
// MaxInFlight, so a reload does not let another MaxInFlight leave while a
// stuck mirror holds the first ones. nil: none before.
func WithPrevious(prev *Mirror) Option {
	return func(mr *Mirror) {
		if prev != nil {
			mr.inFlight = prev.inFlight
		}
	}
}

// WithLogger logs copies that panicked (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(mr *Mirror) { mr.logger = l } }

// Mirror copies one route's requests to an upstream. Build one per route
// table: a reload builds a new one (WithPrevious the old one, so that
// MaxInFlight bounds the route's copies), and the copies of the old one
// still in flight finish, or are cut by their timeout.
type Mirror struct {
	route, upstream string
	percent         int
	maxBody         int64
	timeout         time.Duration
	header          string
	maxInFlight     int64
	inFlight        *atomic.Int64 // copies in flight, shared with the route's Mirrors before and after a reload
	to              http.Handler

	ctx     context.Context
	metrics *Metrics
	born    *routeseries.Birth
	logger  *slog.Logger
}

// New returns the Mirror of route, sending copies to to — the proxy of
// p.Upstream, which balances, retries and records them as that upstream's
// own requests. It returns an error when p is not valid.
func New(route string, p Policy, to http.Handler, opts ...Option) (*Mirror, error) {
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("mirror of route %s: %w", route, errors.Join(asErrors(errs)...))
	}
	if to == nil {
		return nil, fmt.Errorf("mirror of route %s: no handler for upstream %s", route, p.Upstream)
	}
	m := &Mirror{
		route: route, upstream: p.Upstream, percent: 100,
		maxBody: int64(p.MaxBodyBytes), timeout: time.Duration(p.Timeout), header: p.Header,
		to: to, ctx: context.Background(), logger: slog.Default(),
	}
	if p.Percent != nil {
		m.percent = *p.Percent
	}
	if m.maxBody == 0 {
		m.maxBody = DefaultMaxBodyBytes
	}
	if m.timeout == 0 {
		m.timeout = DefaultTimeout
	}
	n := p.MaxInFlight
	if n == 0 {
		n = DefaultMaxInFlight
	}
	m.maxInFlight = int64(n)
	m.inFlight = new(atomic.Int64)
	for _, opt := range opts {
		opt(m)
	}
	m.born = m.metrics.born()
	return m, nil
}

func asErrors(fes []*FieldError) []error {
	out := make([]error, len(fes))
	for i, fe := range fes {
		out[i] = fe
	}
	return out
}

// Upstream returns the name of the upstream m sends its copies to.
func (m *Mirror) Upstream() string { return m.upstream }

// Middleware copies the requests next serves; put it around the route's
// upstream handler, so copies are made of requests the route admitted,
// with the path the upstream sees.
func (m *Mirror) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header["Upgrade"]) > 0 || r.Method == http.MethodConnect {
			// A tunnel, not a request: a copy would open a second one.
			next.ServeHTTP(w, r)
			return
		}
		if m.percent < 100 && rand.IntN(100) >= m.percent {
			next.ServeHTTP(w, r)
			return
		}
		series := m.metrics.enter(m.route, m.born)
		if isGRPC(r) {
			// A gRPC body ends when the stream does, and a bidirectional
			// client sends its next message after the answer to the last:
			// read ahead, the primary would never start.
			m.metrics.exit(series, m.upstream, "skipped_stream")
			next.ServeHTTP(w, r)
			return
		}
		if m.inFlight.Add(1) > m.maxInFlight {
			// A slow or stuck mirror: no copy rather than a queue.
			m.inFlight.Add(-1)
			m.metrics.exit(series, m.upstream, "dropped")
			next.ServeHTTP(w, r)
			return
		}
		body, whole := m.readBody(r)
		if !whole {
			m.inFlight.Add(-1)
			m.metrics.exit(series, m.upstream, "skipped_body")
			next.ServeHTTP(w, r)
			return
		}
		go m.send(m.copyOf(r, body), series)
		next.ServeHTTP(w, r)
	})
}

// isGRPC reports whether r is a gRPC call (application/grpc,
// application/grpc+proto...; not gRPC-Web, whose bodies end before the
// answer).
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/grpc") {
		return false
	}
	rest := ct[len("application/grpc"):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}

// readBody reads r's body up to the limit, and gives r a body that replays
// what was read followed by the rest. whole reports whether the body was
// read to its end within the limit; body is then all of it.
func (m *Mirror) readBody(r *http.Request) (body []byte, whole bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	if r.ContentLength > m.maxBody {
		return nil, false // known too large: not a byte read
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, m.maxBody+1))
	switch {
	case err != nil:
		// The client's failure (a cut upload, the route's body limit): the
		// primary meets it as it would have, after the bytes read.
		r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), errorReader{err}), Closer: r.Body}
		return nil, false
	case int64(len(buf)) > m.maxBody:
		r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), r.Body), Closer: r.Body}
		return nil, false
	}
	r.Body = &replayBody{Reader: bytes.NewReader(buf), Closer: r.Body}
	return buf, true
}

// replayBody is a request body partly or wholly read ahead: the bytes read,
// then the rest; Close closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// copyOf returns the copy of r to send: its own context (not the client's,
// which ends with the answer) and request.Info, so that what happens to
// the copy is not recorded as the client's request's.
func (m *Mirror) copyOf(r *http.Request, body []byte) *http.Request {
	client := request.ClientOf(r, nil)
	info := request.NewInfo(m.route, m.upstream, client)
	if pi := request.InfoFrom(r.Context()); pi != nil {
		info.SetRequestID(pi.RequestID())
	}
	ctx := request.WithInfo(m.ctx, info)
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		// The copy's attempt spans join the client's trace.
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	cp := r.Clone(ctx) // with the timeout added by send
	cp.Body = http.NoBody
	cp.GetBody = nil
	cp.ContentLength = 0
	if len(body) > 0 {
		cp.ContentLength = int64(len(body))
		cp.Body = io.NopCloser(bytes.NewReader(body))
		cp.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	cp.TransferEncoding = nil // the copy's length is known
	if m.header != "" {
		cp.Header.Set(m.header, m.route)
	}
	return cp
}

// send sends cp and counts its outcome in series; it holds a slot until
// done.
func (m *Mirror) send(cp *http.Request, series *routeseries.Route[struct{}]) {
	defer m.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(cp.Context(), m.timeout)
	defer cancel()
	w := &discard{header: http.Header{}}
	outcome := "sent"
	func() {
		defer func() {
			if v := recover(); v != nil {
				// Not the client's request: nothing to abort, and a panic
				// here would end the process.
				if v != http.ErrAbortHandler {
					m.logger.Error("mirror copy panicked", "route", m.route, "upstream", m.upstream, "panic", v)
				}
				outcome = "error"
			}
		}()
		m.to.ServeHTTP(w, cp.WithContext(ctx))
	}()
	switch {
	case ctx.Err() != nil && m.ctx.Err() != nil:
		outcome = "cancelled"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		outcome = "timeout"
	case w.status == 0 || w.status >= 500:
		outcome = "error"
	}
	m.metrics.exit(series, m.upstream, outcome)
}

// discard is the ResponseWriter of a copy: it keeps the status and drops
// the rest.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header { return d.header }

func (d *discard) WriteHeader(code int) {
	if d.status == 0 && code >= 200 {
		d.status = code
	}
}

func (d *discard) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
