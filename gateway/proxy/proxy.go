package proxy

import (
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
	"syscall"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
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

// Tracer sees each upstream attempt; package tracing implements it with a
// client span per attempt.
type Tracer interface {
	// StartAttempt is called before attempt n (1 for the first) of a call
	// to upstream is sent to instance. out is the request about to go; its
	// Header is the attempt's own, so the tracer may add propagation
	// headers. The returned func is called once, when the attempt is over
	// (its response body closed or read to EOF, or it failed), with the
	// response status (0 without a response) and the error.
	StartAttempt(out *http.Request, upstream, instance string, n int) (end func(status int, err error))
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

// Proxy forwards to an Upstream: as an http.Handler that streams the answer
// to a client (ServeHTTP), or call by call for a caller that reads the
// response itself (Do, RoundTrip). Both run the same attempt loop. Create
// it with New.
type Proxy struct {
	up           Upstream
	transport    http.RoundTripper
	observer     Observer
	tracer       Tracer
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

// WithTracer traces every attempt with t; without it (the default) the
// attempt loop does no tracing work.
func WithTracer(t Tracer) Option { return func(p *Proxy) { p.tracer = t } }

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
// a client cannot spoof its address to the upstream. The client is decided
// by request.ClientOf: under a route table (or request.TrustProxies) that
// list decides and this one is not used.
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
		Transport:    serveTransport{p},
		BufferPool:   bufferPool{},
		ErrorHandler: p.serveError,
		ErrorLog:     log.New(slogWriter{p.logger}, "", 0),
	}
	return p
}

// ServeHTTP forwards r and streams the answer back: the reverse proxy
// (forwarding and hop-by-hop headers, trailers, upgrades, flushing) around
// one Do. The outcome goes into r's request.Info, when there is one, as
// soon as it is known (by the transport or the error handler), so a client
// gone mid-body — which aborts the handler with a panic — loses nothing, and
// no per-request state has to travel through the context.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r)
}

// serveTransport is the reverse proxy's transport: Do, with the Result
// recorded in the request's Info.
type serveTransport struct{ p *Proxy }

func (t serveTransport) RoundTrip(out *http.Request) (*http.Response, error) {
	resp, res, err := t.p.do(out, true)
	if res.Attempts > 0 {
		if info := request.InfoFrom(out.Context()); info != nil {
			info.AddAttempts(res.Attempts)
			info.SetInstance(res.Instance)
		}
	}
	return resp, err
}

// rewrite sets the forwarding headers; the transport sets the instance.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	trusted := request.ClientOf(in, p.trusted).ViaTrustedProxy
	if trusted {
		for _, h := range []string{"X-Forwarded-For", "Forwarded"} {
			if v := in.Header.Values(h); len(v) > 0 {
				out.Header[h] = v
			}
		}
	}
	setForwarded(in, out.Header, trusted)
	out.URL.Scheme = "http"
	out.URL.Host = "upstream.invalid" // replaced per attempt
}

// setForwarded sets X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded does (appending to the kept
// X-Forwarded-For), keeps a trusted proxy's -Host and -Proto, and adds this
// hop's Forwarded element. The four header values share one backing array:
// one allocation instead of four on every request.
func setForwarded(in *http.Request, h http.Header, trusted bool) {
	vals := make([]string, 4)
	set := func(i int, name, v string) {
		vals[i] = v
		h[name] = vals[i : i+1 : i+1] // capacity 1: an Add elsewhere copies, never overwrites a neighbour
	}
	if clientIP, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if prior := h["X-Forwarded-For"]; len(prior) > 0 {
			clientIP = strings.Join(prior, ", ") + ", " + clientIP
		}
		set(0, "X-Forwarded-For", clientIP)
	} else {
		delete(h, "X-Forwarded-For")
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	xhost, xproto := in.Host, proto
	if trusted { // keep what the trusted proxy in front said about the original request
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			xhost = v
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v != "" {
			xproto = v
		}
	}
	set(1, "X-Forwarded-Host", xhost)
	set(2, "X-Forwarded-Proto", xproto)
	fwd := forwardedElement(in, proto)
	if prior := h["Forwarded"]; len(prior) > 0 {
		h["Forwarded"] = append(prior[:len(prior):len(prior)], fwd)
	} else {
		set(3, "Forwarded", fwd)
	}
}

// forwardedElement is this hop's RFC 7239 element, built in one allocation.
func forwardedElement(r *http.Request, proto string) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	open, end := "", ""
	if strings.Contains(ip, ":") {
		open, end = `"[`, `]"`
	}
	if r.Host == "" {
		return "for=" + open + ip + end + ";proto=" + proto
	}
	return "for=" + open + ip + end + ";host=" + quoteIfNeeded(r.Host) + ";proto=" + proto
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

// serveError answers with a problem body when no upstream response came.
func (p *Proxy) serveError(w http.ResponseWriter, r *http.Request, err error) {
	f := classify(r.Context(), err)
	if info := request.InfoFrom(r.Context()); info != nil {
		info.SetError(f.reason)
	}
	if f.status == outcome.StatusClientClosedRequest {
		// The client went away; nobody reads this answer, but logs and
		// metrics record it as nginx does.
		w.WriteHeader(f.status)
		return
	}
	d := problem.Details{Status: f.status, Upstream: p.up.Name(), RequestID: r.Header.Get("X-Request-Id")}
	if info := request.InfoFrom(r.Context()); info != nil {
		d.Route = info.Route
	}
	switch f.reason {
	case reasonTooLarge:
		d.Detail = "request body is larger than the route allows"
	case reasonNoInstances:
		d.Detail = "upstream " + p.up.Name() + " has no healthy instances"
	case reasonTimeout:
		d.Detail = "upstream " + p.up.Name() + " did not answer in time"
	case reasonUnreachable:
		d.Detail = "upstream " + p.up.Name() + ": no instance could be reached"
	default:
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
