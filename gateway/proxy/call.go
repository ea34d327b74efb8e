package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/outcome"
)

// Result is what one call through the proxy did.
type Result struct {
	// Upstream is the upstream's name.
	Upstream string
	// Instance is the address of the instance of the last attempt; empty
	// when no instance was picked.
	Instance string
	// Attempts is how many attempts were made (retries + 1); 0 when no
	// instance was picked.
	Attempts int
	// Status is the status of the response returned; 0 when the call
	// failed.
	Status int
	// Reason says briefly why a call failed; empty when it returned a
	// response. One of "no healthy instances", "upstream timeout",
	// "upstream unreachable", "upstream error", "request body too large",
	// "request body incomplete" and outcome.ErrClientClosed: a bounded set,
	// fit for logs and labels.
	Reason string
}

// Error is the error of a call that got no response; RoundTrip returns it.
type Error struct {
	Result Result
	Err    error
}

func (e *Error) Error() string { return "upstream " + e.Result.Upstream + ": " + e.Err.Error() }

// Unwrap returns the cause, e.g. balance.ErrNoInstances.
func (e *Error) Unwrap() error { return e.Err }

// RoundTrip implements http.RoundTripper with Do; a failed call's Result is
// in the *Error it returns.
func (p *Proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, res, err := p.Do(req)
	if err != nil {
		return nil, &Error{Result: res, Err: err}
	}
	return resp, nil
}

// Do sends req to the upstream: each attempt picks an instance with the
// balancer, reports the outcome for passive health, and is bounded by the
// try timeout; failed attempts are retried on another instance when that
// is safe and the retry budget allows (see Retry). req's URL scheme and
// host are replaced by the instance's, and its Host header is sent only
// with WithPreserveHost; everything else goes as is (forwarding and
// hop-by-hop headers are the caller's business). req is not modified, and
// its body is closed.
//
// The caller reads and closes the response body as with an http.Client;
// closing it (or reading it to EOF) releases the instance and records the
// attempt's duration, so an unclosed body keeps the instance counted as
// busy. Do needs no request.Info and may be called concurrently, several
// times for one client request.
func (p *Proxy) Do(req *http.Request) (*http.Response, Result, error) {
	return p.do(req, false)
}

// do is Do; owned says req is the caller's own copy (the reverse proxy's
// outgoing request), which the first attempt may then change in place.
func (p *Proxy) do(req *http.Request, owned bool) (*http.Response, Result, error) {
	res := Result{Upstream: p.up.Name()}
	if p.retry.Budget != nil {
		p.retry.Budget.Request()
	}
	ctx := req.Context()
	var body *replayableBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &replayableBody{rc: req.Body}
	}
	var tried [4]*balance.Endpoint
	for attempt := 1; ; attempt++ {
		ep := p.pick(req, tried[:min(attempt-1, len(tried))])
		if ep == nil {
			body.finish(nil)
			res.Status, res.Reason = 0, reasonNoInstances
			return nil, res, balance.ErrNoInstances
		}
		if attempt-1 < len(tried) {
			tried[attempt-1] = ep
		}
		ep.Acquire()
		res.Instance, res.Attempts, res.Status = ep.Addr, attempt, 0
		a := &attemptEnd{p: p, ep: ep, start: time.Now()}

		actx := ctx
		if p.tryTimeout > 0 {
			var cancel context.CancelCauseFunc
			actx, cancel = context.WithCancelCause(ctx)
			a.cancel = cancel
		}
		out := req
		if actx != ctx || !owned || attempt > 1 {
			out = req.WithContext(actx) // a shallow copy
		}
		if !owned || attempt > 1 { // the caller's URL, or one an earlier attempt may still use
			u := *req.URL
			out.URL = &u
		}
		out.URL.Scheme, out.URL.Host = ep.URL.Scheme, ep.URL.Host
		if !p.preserveHost {
			out.Host = ""
		}
		var view *bodyView
		if body != nil {
			view = &bodyView{b: body}
			out.Body, out.GetBody = view, nil // our own retries decide what is replayed
		}
		if p.tracer != nil {
			if !owned || attempt > 1 { // the caller's header map, or one an earlier attempt sent
				out.Header = req.Header.Clone()
			}
			a.end = p.tracer.StartAttempt(out, p.up.Name(), ep.Addr, attempt)
		}
		var timer *time.Timer
		if a.cancel != nil {
			timer = time.AfterFunc(p.tryTimeout, func() { a.cancel(errTryTimeout) })
		}
		resp, err := p.transport.RoundTrip(out)
		if timer != nil && !timer.Stop() {
			if err == nil {
				// The timer fired as the head arrived: the attempt's context
				// is gone, so its body could break off at any read. It is a
				// timed-out attempt, retried or answered 504 like any other.
				resp.Body.Close()
				resp = nil
			}
			err = errTryTimeout
		}
		ctxDone := ctx.Err() != nil
		clientBody := err != nil && body != nil && body.failed.Load()
		if clientBody {
			err = clientBodyError{err}
		}
		// A client's body that failed (too large, cut short) is no sign of
		// the instance's health.
		if !ctxDone && !clientBody {
			p.up.Observe(ep, err != nil || resp.StatusCode >= 500)
		}
		if err == nil {
			a.code = int32(resp.StatusCode)
		} else {
			a.err = err
		}
		reason, retry := p.retryable(req, body, attempt, err, resp, ctxDone)
		if !retry {
			if err != nil {
				a.done()
				body.finish(nil)
				res.Reason = reasonFor(ctx, err)
				return nil, res, err
			}
			res.Status = resp.StatusCode
			resp.Body = a.wrap(resp)
			body.finish(view)
			return resp, res, nil
		}
		// This attempt is over: account for it and let it go.
		if resp != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		a.done()
		if p.observer != nil {
			p.observer.ObserveRetry(p.up.Name(), reason)
		}
	}
}

// attemptEnd is what to do once an attempt is over: release the instance,
// end the attempt's context and record its duration. It runs once. It is
// also the response body handed to the caller (one allocation per attempt),
// ending the attempt when closed or read to EOF.
type attemptEnd struct {
	p      *Proxy
	ep     *balance.Endpoint
	start  time.Time
	err    error
	cancel context.CancelCauseFunc
	end    func(status int, err error) // the tracer's, when there is one
	rc     io.ReadCloser               // the response body
	code   int32
	over   atomic.Bool // one per request: no sync.Once, the struct stays in a smaller size class
}

func (a *attemptEnd) done() {
	if !a.over.CompareAndSwap(false, true) {
		return
	}
	a.ep.Release()
	if a.cancel != nil {
		a.cancel(nil)
	}
	if a.p.observer != nil {
		a.p.observer.ObserveUpstream(a.p.up.Name(), int(a.code), time.Since(a.start))
	}
	if a.end != nil {
		a.end(int(a.code), a.err)
	}
}

// wrap returns resp's body, ending the attempt when it is closed or read
// to EOF. An upgraded connection (101) stays a ReadWriteCloser, as the
// reverse proxy needs, and ends only on Close: EOF on one direction of a
// tunnel is not the end of it.
func (a *attemptEnd) wrap(resp *http.Response) io.ReadCloser {
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		return &upgradedBody{ReadWriteCloser: rwc, end: a}
	}
	a.rc = resp.Body
	return a
}

func (a *attemptEnd) Read(p []byte) (int, error) {
	n, err := a.rc.Read(p)
	if err == io.EOF {
		a.done()
	}
	return n, err
}

func (a *attemptEnd) Close() error {
	err := a.rc.Close()
	a.done()
	return err
}

type upgradedBody struct {
	io.ReadWriteCloser
	end *attemptEnd
}

func (b *upgradedBody) Close() error {
	err := b.ReadWriteCloser.Close()
	b.end.done()
	return err
}

// Reasons of failed calls (Result.Reason, request.Info's error).
const (
	reasonNoInstances = "no healthy instances"
	reasonTimeout     = "upstream timeout"
	reasonUnreachable = "upstream unreachable"
	reasonError       = "upstream error"
	reasonTooLarge    = "request body too large"
	reasonClientBody  = "request body incomplete"
)

var errTryTimeout = errors.New("upstream attempt timed out")

// clientBodyError is a call that failed because the client's request body
// did: it broke off, or was larger than allowed (an *http.MaxBytesError
// inside). The client's fault, answered 4xx, not the upstream's.
type clientBodyError struct{ err error }

func (e clientBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e clientBodyError) Unwrap() error { return e.err }

// failure is how the gateway answers a call that got no response.
type failure struct {
	status int
	reason string
}

// classify maps a call's error to a status and reason; ctx is the caller's.
func classify(ctx context.Context, err error) failure {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return failure{outcome.StatusClientClosedRequest, outcome.ErrClientClosed}
	case errors.As(err, &maxBytes):
		return failure{http.StatusRequestEntityTooLarge, reasonTooLarge}
	case errors.As(err, new(clientBodyError)):
		return failure{http.StatusBadRequest, reasonClientBody}
	case errors.Is(err, balance.ErrNoInstances):
		return failure{http.StatusServiceUnavailable, reasonNoInstances}
	case errors.Is(err, errTryTimeout), errors.Is(err, context.DeadlineExceeded), PastDeadline(ctx):
		return failure{http.StatusGatewayTimeout, reasonTimeout}
	case isConnectError(err):
		return failure{http.StatusBadGateway, reasonUnreachable}
	default:
		return failure{http.StatusBadGateway, reasonError}
	}
}

// PastDeadline reports whether ctx's deadline has passed by the clock. Its
// timer may not have fired yet when an upstream holding the same deadline
// (a gRPC server given grpc-timeout, rounded up) already reset the stream:
// the failure is the deadline's, not the upstream's. Proxy and
// grpcproxy.Transport both classify a failure with it.
func PastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

func reasonFor(ctx context.Context, err error) string { return classify(ctx, err).reason }

// otherPicker is an Upstream that can name an admitted endpoint not tried
// yet (upstream.Upstream does).
type otherPicker interface {
	PickOther(tried []*balance.Endpoint) *balance.Endpoint
}

// pick chooses an endpoint, preferring one not tried yet: the balancer's
// choice, asked again a few times, then any untried admitted endpoint, so a
// retry does not go back to the instance that just failed while another
// one is there.
func (p *Proxy) pick(r *http.Request, tried []*balance.Endpoint) *balance.Endpoint {
	ep := p.up.Pick(r)
	for i := 0; i < 3 && ep != nil && wasTried(ep, tried); i++ {
		ep = p.up.Pick(r)
	}
	if ep != nil && wasTried(ep, tried) {
		if o, ok := p.up.(otherPicker); ok {
			if other := o.PickOther(tried); other != nil {
				return other
			}
		}
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
func (p *Proxy) retryable(r *http.Request, body *replayableBody, attempt int, err error, resp *http.Response, ctxDone bool) (string, bool) {
	if ctxDone || p.retry.Attempts < 2 || attempt >= p.retry.Attempts {
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

// replayableBody lets a request body be sent again when no byte of it was
// read. Each attempt reads it through its own bodyView, because the
// transport closes an attempt's body when it is done with it — possibly
// after RoundTrip returned — and only the last attempt's Close may close
// the real body.
type replayableBody struct {
	rc     io.ReadCloser
	n      atomic.Int64 // read by the retry decision while the transport may still read
	failed atomic.Bool  // a read of rc failed: the client's fault, not the instance's

	mu     sync.Mutex
	final  *bodyView // the attempt whose response was returned
	over   bool      // the attempts are over
	closed bool
}

type bodyView struct {
	b      *replayableBody
	closed bool // guarded by b.mu
}

func (v *bodyView) Read(p []byte) (int, error) {
	n, err := v.b.rc.Read(p)
	v.b.n.Add(int64(n))
	if err != nil && err != io.EOF {
		v.b.failed.Store(true)
	}
	return n, err
}

func (v *bodyView) Close() error {
	b := v.b
	b.mu.Lock()
	defer b.mu.Unlock()
	v.closed = true
	if b.over && b.final == v {
		return b.closeLocked()
	}
	return nil
}

// finish ends the attempts: the real body is closed once the transport of
// final is done with it, or now when no response is returned (final nil).
// A nil b is a request without a body.
func (b *replayableBody) finish(final *bodyView) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.over, b.final = true, final
	if final == nil || final.closed {
		_ = b.closeLocked()
	}
}

func (b *replayableBody) closeLocked() error {
	if b.closed {
		return nil
	}
	b.closed = true
	return b.rc.Close()
}
