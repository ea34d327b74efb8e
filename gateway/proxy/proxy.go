package proxy

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/interim"
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
// shared NewHTTP1Transport(NewTransport())).
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
	defaultTransport     *HTTP1Transport
)

// New returns a Proxy to up.
func New(up Upstream, opts ...Option) *Proxy {
	p := &Proxy{up: up, logger: slog.Default()}
	for _, opt := range opts {
		opt(p)
	}
	if p.transport == nil {
		defaultTransportOnce.Do(func() { defaultTransport = NewHTTP1Transport(NewTransport()) })
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

// ServeHTTP forwards r and streams the answer back: forwarding and
// hop-by-hop headers, trailers and flushing as httputil.ReverseProxy does
// them, around one Do. A protocol upgrade (WebSocket) goes through an
// httputil.ReverseProxy around the same Do; everything else is forwarded
// here, without the reverse proxy's copies of the request and its headers.
// The outcome goes into r's request.Info, when there is one, as soon as it
// is known, so a client gone mid-body — which aborts the handler with a
// panic — loses nothing, and no per-request state has to travel through
// the context.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.Header["Upgrade"]) > 0 {
		p.rp.ServeHTTP(w, r)
		return
	}
	o := &outgoing{url: *r.URL}
	o.ctx = interimContext{Context: r.Context()}
	if r.ProtoAtLeast(1, 1) { // RFC 9110 15.2: no 1xx to an HTTP/1.0 client
		o.ctx.w = w
	}
	o.req = *r.WithContext(&o.ctx)
	out := &o.req
	out.URL = &o.url
	out.RequestURI = "" // a client request must not carry one
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil // the reverse proxy's rule: no body, whatever the client's framing said
	}
	trusted := request.ClientOf(r, p.trusted).ViaTrustedProxy
	out.Header = forwardHeader(r.Header, trusted)
	setForwarded(r, out.Header, trusted)
	if len(r.Trailer) > 0 {
		forwardTrailer(r, out)
	}
	out.URL.Scheme, out.URL.Host = "http", "upstream.invalid" // replaced per attempt

	resp, err := serveTransport{p}.RoundTrip(out)
	o.ctx.finish()
	if err != nil {
		p.serveError(w, out, err)
		return
	}
	removeHopByHop(resp.Header)
	dst := w.Header()
	for k, vv := range resp.Header {
		if prior, ok := dst[k]; ok {
			// The same values the gateway set already (an upstream echoing
			// the request id) go once, not as two equal field lines.
			if !slices.Equal(prior, vv) {
				dst[k] = append(prior, vv...)
			}
		} else {
			dst[k] = vv // resp is ours: its slices need no copy
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := p.copyBody(w, r, resp); err != nil {
		resp.Body.Close()
		if r.Context().Value(http.ServerContextKey) == nil {
			return // not under an http.Server: nobody to abort
		}
		// The answer is cut short; aborting tells the server to drop the
		// connection instead of pretending the response ended well.
		panic(http.ErrAbortHandler)
	}
	resp.Body.Close()
	if len(resp.Trailer) > 0 {
		_ = http.NewResponseController(w).Flush()
	}
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			dst[k] = append(dst[k], vv...)
		}
		return
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			dst.Add(http.TrailerPrefix+k, v)
		}
	}
}

// outgoing is the upstream request with its own URL and context, in one
// allocation.
type outgoing struct {
	req http.Request
	url url.URL
	ctx interimContext
}

// interimContext is the upstream request's context. Asked by a transport for
// its httptrace.ClientTrace, it gives one whose Got1xxResponse passes the
// upstream's interim answers (103 Early Hints) on to the client, as
// httputil.ReverseProxy does. The trace is made only when asked for
// (HTTP1Transport asks when a 1xx arrives, http.Transport on every request):
// one set up front would cost three allocations on every request.
type interimContext struct {
	context.Context
	w http.ResponseWriter

	// http.Transport calls Got1xxResponse on its read goroutine, which may
	// still be reading after RoundTrip returned (cancelled): from then on
	// the ResponseWriter is ServeHTTP's alone.
	mu    sync.Mutex
	done  bool
	trace *httptrace.ClientTrace // made on the first lookup
}

// clientTraceKey is httptrace's context key for a ClientTrace. It is not
// exported; httptrace.ContextClientTrace is asked once for the trace of a
// context that records the key it is asked for.
var clientTraceKey = func() any {
	var p keyProbe
	httptrace.ContextClientTrace(&p)
	return p.key
}()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any { p.key = key; return nil }

func (c *interimContext) Value(key any) any {
	if key == clientTraceKey {
		return c.clientTrace()
	}
	return c.Context.Value(key)
}

// clientTrace returns the trace, made once: http.Transport looks it up more
// than once per request.
func (c *interimContext) clientTrace() *httptrace.ClientTrace {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trace == nil {
		c.trace = &httptrace.ClientTrace{Got1xxResponse: c.forward}
		if httptrace.ContextClientTrace(c.Context) != nil {
			// The caller's context has a trace of its own: both are called.
			c.trace = httptrace.ContextClientTrace(httptrace.WithClientTrace(c.Context, c.trace))
		}
	}
	return c.trace
}

// forward passes an interim answer on to the client, without its hop-by-hop
// fields and without changing the final answer's header. 100 Continue is
// not passed on: the client's server sends its own when the body is read.
// An HTTP/1.0 client gets none (w is nil).
func (c *interimContext) forward(code int, header textproto.MIMEHeader) error {
	if code == http.StatusContinue || c.w == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	h := http.Header(header)
	removeHopByHop(h)
	interim.Write(c.w, code, h)
	return nil
}

// finish ends forwarding: the exchange with the upstream is over.
func (c *interimContext) finish() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1, and the older
// ones httputil.ReverseProxy also drops).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// dropped reports whether an inbound header stays on this hop: a
// hop-by-hop header, or a forwarding header that setForwarded rewrites.
func dropped(k string) bool {
	switch k {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return slices.Contains(hopHeaders, k)
}

// forwardHeader is the upstream request's header: in without the
// hop-by-hop headers (those named in Connection too) and the forwarding
// headers, keeping a trusted proxy's X-Forwarded-For and Forwarded for
// setForwarded to append to. One map, the values shared — the reverse proxy
// clones everything and then deletes.
func forwardHeader(in http.Header, trusted bool) http.Header {
	var listed map[string]bool // named in Connection: rare
	for _, f := range in["Connection"] {
		for name := range strings.SplitSeq(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				if listed == nil {
					listed = map[string]bool{}
				}
				listed[textproto.CanonicalMIMEHeaderKey(name)] = true
			}
		}
	}
	out := make(http.Header, len(in)+4)
	for k, vv := range in {
		if (dropped(k) && !(trusted && (k == "X-Forwarded-For" || k == "Forwarded"))) || listed[k] {
			continue
		}
		// The values are shared, capacity-limited: an Add to the upstream
		// request appends to a copy, and nothing assigns into a value
		// slice in place, so the client's header stays as it came.
		out[k] = vv[:len(vv):len(vv)]
	}
	if httpguts.HeaderValuesContainsToken(in["Te"], "trailers") {
		out["Te"] = []string{"trailers"} // a gRPC client's signal travels on
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""} // not Go's default: the client sent none
	}
	return out
}

// forwardTrailer declares on out the trailers of r that may go upstream,
// and fills in their values when r's body ends (the server reads them only
// then): not hop-by-hop ones (those r's Connection header names included),
// not forwarding ones, not Host, and none that out's header carries (kept
// or set by the gateway). An upstream that merges trailers into the header
// would otherwise take a client's X-Forwarded-For or identity header for
// the gateway's; httputil.ReverseProxy passes them all.
func forwardTrailer(r, out *http.Request) {
	out.Trailer = nil
	if out.Body == nil {
		return
	}
	keep := make(http.Header, len(r.Trailer))
	for k := range r.Trailer {
		if dropped(k) || k == "Host" || out.Header[k] != nil || httpguts.HeaderValuesContainsToken(r.Header["Connection"], k) {
			continue
		}
		keep[k] = nil // declared now, sent after the body
	}
	if len(keep) == 0 {
		return
	}
	out.Trailer = keep
	out.Body = TrailerBody(out.Body, r.Trailer, keep)
}

// TrailerBody returns body that, when it ends, fills in the values of the
// trailers declared in to (its keys) from those in from. A server fills in
// a request's trailers only once its body is read to the end, so an
// outgoing request that forwards some of them declares them (to, as its
// Trailer) and reads its body through TrailerBody: the transport sends the
// trailers after the body, by then complete. Only to's keys are filled:
// HTTP/2 transports send every key of Request.Trailer, declared or not.
func TrailerBody(body io.ReadCloser, from, to http.Header) io.ReadCloser {
	return &trailerBody{ReadCloser: body, in: from, out: to}
}

type trailerBody struct {
	io.ReadCloser
	in, out http.Header
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		for k := range b.out {
			b.out[k] = slices.Clone(b.in[k])
		}
	}
	return n, err
}

// removeHopByHop deletes an answer's hop-by-hop headers, those named in its
// Connection header included.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for name := range strings.SplitSeq(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// ReasonUpstreamBodyBroke is the error recorded in request.Info when the
// upstream's body broke off after its head was passed on: the client was
// sent the upstream's status, and its connection is dropped.
const ReasonUpstreamBodyBroke = "upstream body broke"

// copyBody streams resp's body to w, flushing after every write when the
// answer is a stream (unknown length, or server-sent events) as the reverse
// proxy does; a read error is logged and recorded in r's Info, as a write
// error is not (the client went away).
func (p *Proxy) copyBody(w http.ResponseWriter, r *http.Request, resp *http.Response) error {
	var rc *http.ResponseController
	if resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		rc = http.NewResponseController(w)
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	for {
		nr, rerr := resp.Body.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if rc != nil {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if !errors.Is(rerr, context.Canceled) {
				p.logger.Warn("proxy: upstream body read failed", "upstream", p.up.Name(), "err", rerr)
				if info := request.InfoFrom(r.Context()); info != nil {
					info.SetError(ReasonUpstreamBodyBroke)
				}
			}
			return rerr
		}
	}
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

// SetForwarded sets on h, the header of a request the gateway makes on
// behalf of in (a composite route's backend call), the forwarding headers
// the reverse proxy sends: X-Forwarded-For, -Host, -Proto and Forwarded
// describe in's client, and the values in carried are kept (and appended
// to) only when it came through a trusted proxy, as request.ClientOf
// decides. Whatever h held under those names is replaced.
func SetForwarded(in *http.Request, h http.Header) {
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(h, k)
	}
	trusted := request.ClientOf(in, nil).ViaTrustedProxy
	if trusted {
		for _, k := range []string{"X-Forwarded-For", "Forwarded"} {
			if v := in.Header.Values(k); len(v) > 0 {
				h[k] = v[:len(v):len(v)] // an append copies: in's header stays as it came
			}
		}
	}
	setForwarded(in, h, trusted)
}

// setForwarded sets X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded does (appending to the kept
// X-Forwarded-For), keeps a trusted proxy's -Host and -Proto, and adds this
// hop's Forwarded element. Three header values share one backing array and
// X-Forwarded-Proto is a shared constant: one allocation instead of four on
// every request.
func setForwarded(in *http.Request, h http.Header, trusted bool) {
	vals := make([]string, 3)
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
	xhost := in.Host
	h["X-Forwarded-Proto"] = protoHTTP
	if proto == "https" {
		h["X-Forwarded-Proto"] = protoHTTPS
	}
	if trusted { // keep what the trusted proxy in front said about the original request
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			xhost = v
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v != "" {
			h["X-Forwarded-Proto"] = []string{v}
		}
	}
	set(1, "X-Forwarded-Host", xhost)
	fwd := forwardedElement(in, proto)
	if prior := h["Forwarded"]; len(prior) > 0 {
		h["Forwarded"] = append(prior[:len(prior):len(prior)], fwd)
	} else {
		set(2, "Forwarded", fwd)
	}
}

// protoValues are shared X-Forwarded-Proto values: capacity 1, so an Add
// copies, and nothing assigns into a header's value slice in place.
var protoHTTP, protoHTTPS = []string{"http"}, []string{"https"}

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

// quoteIfNeeded returns s as an RFC 7239 value: a token as is, anything
// else (a host with a port, an IPv6 address) as a quoted string.
func quoteIfNeeded(s string) string {
	plain, escapes := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' {
			escapes = true
		}
		if !httpguts.IsTokenRune(rune(c)) {
			plain = false
		}
	}
	switch {
	case plain:
		return s
	case !escapes:
		return `"` + s + `"`
	}
	return `"` + quoteEscaper.Replace(s) + `"`
}

// quoteEscaper is built once: a Replacer builds its tables on first use.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

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
	case reasonClientBody:
		d.Detail = "the request body ended before its announced length or could not be read"
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
