package proxy

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// Upstream is what the proxy needs from an upstream service;
// *upstream.Upstream implements it.
type Upstream interface {
	Name() string
	// Pick returns the endpoint for r, or nil when none is admitted.
	Pick(r *http.Request) *balance.Endpoint
	// Observe reports one attempt's outcome for passive health.
	Observe(ep *balance.Endpoint, failed bool)
}

// Observer receives per-attempt measurements; the metrics package
// implements it.
type Observer interface {
	// ObserveUpstream records one attempt; code 0 means no response.
	ObserveUpstream(upstream string, code int, d time.Duration)
	ObserveRetry(upstream, reason string)
}

// Retry says when a failed attempt is tried again on another instance.
type Retry struct {
	// Attempts is the most attempts per request, the first included.
	// Values below 2 disable retries.
	Attempts int
	// Statuses are the upstream statuses that make an idempotent,
	// body-less request retryable (default 502, 503, 504).
	Statuses []int
	// Budget bounds retries across requests; nil means no bound.
	Budget *Budget
}

// Proxy is an http.Handler that forwards to an Upstream. Create it with New.
type Proxy struct {
	up           Upstream
	transport    http.RoundTripper
	observer     Observer
	retry        Retry
	tryTimeout   time.Duration
	preserveHost bool
	trusted      []netip.Prefix
	logger       *slog.Logger
	rp           *httputil.ReverseProxy
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithTransport sets the RoundTripper used for upstream attempts (default: a
// shared NewTransport()).
func WithTransport(rt http.RoundTripper) Option { return func(p *Proxy) { p.transport = rt } }

// WithObserver reports attempts and retries to o.
func WithObserver(o Observer) Option { return func(p *Proxy) { p.observer = o } }

// WithRetry enables retries.
func WithRetry(r Retry) Option { return func(p *Proxy) { p.retry = r } }

// WithTryTimeout bounds the wait for each attempt's response headers. The
// route's Timeout bounds the whole request.
func WithTryTimeout(d time.Duration) Option { return func(p *Proxy) { p.tryTimeout = d } }

// WithPreserveHost sends the client's Host header upstream instead of the
// instance's address.
func WithPreserveHost(v bool) Option { return func(p *Proxy) { p.preserveHost = v } }

// WithTrustedProxies lists the networks whose X-Forwarded-* and Forwarded
// headers are kept and appended to. From anyone else they are replaced, so
// a client cannot spoof its address to the upstream.
func WithTrustedProxies(nets ...netip.Prefix) Option {
	return func(p *Proxy) { p.trusted = append(p.trusted, nets...) }
}

// WithLogger sets the logger for proxy errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(p *Proxy) { p.logger = l } }

var (
	defaultTransportOnce sync.Once
	defaultTransport     *http.Transport
)

// New returns a Proxy to up.
func New(up Upstream, opts ...Option) *Proxy {
	p := &Proxy{up: up, logger: slog.Default()}
	for _, opt := range opts {
		opt(p)
	}
	if p.transport == nil {
		defaultTransportOnce.Do(func() { defaultTransport = NewTransport() })
		p.transport = defaultTransport
	}
	if p.retry.Attempts > 1 && len(p.retry.Statuses) == 0 {
		p.retry.Statuses = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    attemptTransport{p},
		BufferPool:   bufferPool{},
		ErrorHandler: p.serveError,
		ErrorLog:     log.New(slogWriter{p.logger}, "", 0),
	}
	return p
}

// state follows one request through its attempts.
type state struct {
	info     *route.Info
	ep       *balance.Endpoint // acquired endpoint of the current attempt
	start    time.Time
	code     int
	cancel   context.CancelCauseFunc
	attempts int
	reason   string // why the gateway answered with an error
}

type stateKey struct{}

// ServeHTTP forwards r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &state{info: route.InfoFrom(r.Context())}
	if p.retry.Budget != nil {
		p.retry.Budget.Request()
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	if st.ep != nil {
		st.ep.Release()
		if p.observer != nil {
			p.observer.ObserveUpstream(p.up.Name(), st.code, time.Since(st.start))
		}
	}
	if st.cancel != nil {
		st.cancel(nil)
	}
	if st.info != nil {
		st.info.Attempts = st.attempts
		if st.reason != "" {
			st.info.Error = st.reason
		}
	}
}

// rewrite sets the forwarding headers; the transport sets the instance.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	trusted := p.isTrusted(in.RemoteAddr)
	if trusted {
		for _, h := range []string{"X-Forwarded-For", "Forwarded"} {
			if v := in.Header.Values(h); len(v) > 0 {
				out.Header[h] = v
			}
		}
	}
	pr.SetXForwarded()
	if trusted { // keep what the trusted proxy in front said about the original request
		for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := in.Header.Get(h); v != "" {
				out.Header.Set(h, v)
			}
		}
	}
	out.Header.Add("Forwarded", forwardedElement(in))
	out.URL.Scheme = "http"
	out.URL.Host = "upstream.invalid" // replaced per attempt
	if !p.preserveHost {
		out.Host = ""
	}
}

// forwardedElement is this hop's RFC 7239 element.
func forwardedElement(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if strings.Contains(ip, ":") {
		ip = `"[` + ip + `]"`
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	var b strings.Builder
	b.WriteString("for=")
	b.WriteString(ip)
	if r.Host != "" {
		b.WriteString(";host=")
		b.WriteString(quoteIfNeeded(r.Host))
	}
	b.WriteString(";proto=")
	b.WriteString(proto)
	return b.String()
}

func quoteIfNeeded(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
	}
	return s
}

func (p *Proxy) isTrusted(remote string) bool {
	if len(p.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, n := range p.trusted {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

var (
	errTryTimeout = errors.New("upstream attempt timed out")
)

// attemptTransport runs the attempts of one request.
type attemptTransport struct{ p *Proxy }

func (t attemptTransport) RoundTrip(out *http.Request) (*http.Response, error) {
	p := t.p
	st, _ := out.Context().Value(stateKey{}).(*state)
	if st == nil { // used outside ServeHTTP: behave like a plain transport
		st = &state{}
	}
	var body *replayableBody
	if out.Body != nil && out.Body != http.NoBody {
		body = &replayableBody{rc: out.Body}
		out.Body = body
	}
	var tried [4]*balance.Endpoint
	for attempt := 1; ; attempt++ {
		ep := p.pick(out, tried[:min(attempt-1, len(tried))])
		if ep == nil {
			return nil, upstream.ErrNoInstances
		}
		if attempt-1 < len(tried) {
			tried[attempt-1] = ep
		}
		ep.Acquire()
		st.ep, st.start, st.code, st.attempts = ep, time.Now(), 0, attempt
		if st.info != nil {
			st.info.Instance = ep.Addr
		}

		req := out
		if attempt > 1 {
			c := *out
			u := *out.URL
			c.URL = &u
			req = &c
		}
		req.URL.Scheme, req.URL.Host = ep.URL.Scheme, ep.URL.Host
		var timer *time.Timer
		if p.tryTimeout > 0 {
			ctx, cancel := context.WithCancelCause(out.Context())
			st.cancel = cancel
			timer = time.AfterFunc(p.tryTimeout, func() { cancel(errTryTimeout) })
			req = req.WithContext(ctx)
		}
		resp, err := p.transport.RoundTrip(req)
		if timer != nil && !timer.Stop() && err != nil {
			err = errTryTimeout
		}
		clientGone := out.Context().Err() != nil
		failed := err != nil || resp.StatusCode >= 500
		if !clientGone {
			p.up.Observe(ep, failed)
		}
		if err == nil {
			st.code = resp.StatusCode
		}
		reason, retry := p.retryable(out, body, attempt, err, resp, clientGone)
		if !retry {
			return resp, err
		}
		// This attempt is over: account for it and let it go.
		if resp != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if st.cancel != nil {
			st.cancel(nil)
			st.cancel = nil
		}
		ep.Release()
		st.ep = nil
		if p.observer != nil {
			p.observer.ObserveUpstream(p.up.Name(), st.code, time.Since(st.start))
			p.observer.ObserveRetry(p.up.Name(), reason)
		}
	}
}

// pick chooses an endpoint, preferring one not tried yet.
func (p *Proxy) pick(r *http.Request, tried []*balance.Endpoint) *balance.Endpoint {
	ep := p.up.Pick(r)
	for i := 0; i < 3 && ep != nil && wasTried(ep, tried); i++ {
		ep = p.up.Pick(r)
	}
	return ep
}

func wasTried(ep *balance.Endpoint, tried []*balance.Endpoint) bool {
	for _, t := range tried {
		if t == ep {
			return true
		}
	}
	return false
}

// retryable decides whether to try again and names the reason.
func (p *Proxy) retryable(r *http.Request, body *replayableBody, attempt int, err error, resp *http.Response, clientGone bool) (string, bool) {
	if clientGone || p.retry.Attempts < 2 || attempt >= p.retry.Attempts {
		return "", false
	}
	var reason string
	switch {
	case err != nil && isConnectError(err):
		reason = "connect" // the dial failed: nothing was sent, any method is safe
	case body != nil:
		// Part of the body may have been sent — or still be being sent: the
		// transport's write loop can outlive RoundTrip. Never send it twice.
		return "", false
	case !idempotent(r):
		return "", false
	case err != nil && errors.Is(err, errTryTimeout):
		reason = "timeout"
	case err != nil:
		reason = "reset"
	case containsInt(p.retry.Statuses, resp.StatusCode):
		reason = "status"
	default:
		return "", false
	}
	if body != nil && body.n.Load() > 0 {
		return "", false
	}
	if p.retry.Budget != nil && !p.retry.Budget.Withdraw() {
		return "", false
	}
	return reason, true
}

func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	// A client that sends an idempotency key says the request may repeat.
	return r.Header.Get("Idempotency-Key") != ""
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// isConnectError reports whether err happened before any byte was sent:
// the dial failed.
func isConnectError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// replayableBody lets a body be sent again when no byte of it was read. The
// transport closes request bodies on error; the inbound body belongs to the
// server, which closes it when the handler returns, so Close is a no-op.
type replayableBody struct {
	rc io.ReadCloser
	n  atomic.Int64 // read by the retry decision while the transport may still read
}

func (b *replayableBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *replayableBody) Close() error { return nil }

// serveError answers with a problem body when no upstream response came.
func (p *Proxy) serveError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(stateKey{}).(*state)
	if st == nil {
		st = &state{}
	}
	d := problem.Details{Upstream: p.up.Name(), RequestID: r.Header.Get("X-Request-Id")}
	if st.info != nil {
		d.Route = st.info.Route
	}
	var maxBytes *http.MaxBytesError
	switch {
	case r.Context().Err() == context.Canceled:
		// The client went away; nobody reads this answer, but logs and
		// metrics record it as nginx does.
		st.reason = outcome.ErrClientClosed
		w.WriteHeader(outcome.StatusClientClosedRequest)
		return
	case errors.As(err, &maxBytes):
		d.Status, st.reason = http.StatusRequestEntityTooLarge, "request body too large"
		d.Detail = "request body is larger than the route allows"
	case errors.Is(err, upstream.ErrNoInstances):
		d.Status, st.reason = http.StatusServiceUnavailable, "no healthy instances"
		d.Detail = "upstream " + p.up.Name() + " has no healthy instances"
	case errors.Is(err, errTryTimeout), errors.Is(err, context.DeadlineExceeded):
		d.Status, st.reason = http.StatusGatewayTimeout, "upstream timeout"
		d.Detail = "upstream " + p.up.Name() + " did not answer in time"
	case isConnectError(err):
		d.Status, st.reason = http.StatusBadGateway, "upstream unreachable"
		d.Detail = "upstream " + p.up.Name() + ": no instance could be reached"
	default:
		d.Status, st.reason = http.StatusBadGateway, "upstream error"
		d.Detail = "upstream " + p.up.Name() + " failed: " + errorKind(err)
	}
	p.logger.LogAttrs(r.Context(), slog.LevelWarn, "proxy error",
		slog.String("route", d.Route), slog.String("upstream", d.Upstream), slog.Int("status", d.Status), slog.String("err", err.Error()))
	problem.Write(w, d)
}

// errorKind describes err without addresses or other internals.
func errorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed before a response"
	default:
		return "invalid response"
	}
}

// bufferPool recycles the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// slogWriter forwards the reverse proxy's own log lines to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(b)), "component", "reverseproxy")
	return len(b), nil
}
