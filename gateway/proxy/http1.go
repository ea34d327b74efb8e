package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// HTTP1Transport is the gateway's http.RoundTripper for plain-HTTP/1.1
// upstreams. It writes the request and reads the response on the calling
// goroutine over a pooled keep-alive connection, and hands everything else
// (https, protocol upgrades, Expect: 100-continue, request trailers, bodies
// of unknown or large size) to an *http.Transport.
//
// Why not http.Transport for everything: it runs a read and a write
// goroutine per connection and passes every exchange between them and the
// caller over channels. On a proxy whose work is one small request and
// answer, that hand-off costs more CPU than the rest of the request:
// measured with `make bench-compare` (one core for proxy and backend), the
// gateway's routing through this transport serves 1.3–1.7 times the
// requests per second of httputil.ReverseProxy over a tuned http.Transport
// (docs/performance.md). Parsing stays net/http's (http.ReadResponse).
//
// What the caller gets is what http.Transport gives: a response whose body
// releases the connection for reuse when read to EOF, and closes it when
// closed earlier; a request on a pooled connection the upstream had
// already closed is sent again on a new one, as http.Transport does; the
// request's context cancels the exchange at any point.
//
// One difference: http.Transport keeps a read pending on every idle
// connection and so sees at once an upstream that closes it or writes to
// it unasked. This transport keeps none (it would cost a goroutine per
// connection and hand-offs per request): it peeks at a pooled connection
// before reusing it instead, one non-blocking system call (under 1 µs
// here), and drops one the upstream closed or wrote to unasked — an
// unasked answer would otherwise be read as the next request's. A close
// that races the peek is caught by using the connection: a request that
// fails before any byte of an answer goes again on a new connection when
// it is safe to send twice.
type HTTP1Transport struct {
	fallback    *http.Transport
	dialer      net.Dialer
	maxIdle     int
	idleTimeout time.Duration
	maxHeader   int64

	mu    sync.Mutex
	pools map[string]*connPool
}

// maxInlineBody is the largest request body the transport sends itself: it
// reads it whole first, so that a request on a pooled connection found
// closed can be sent again. Larger bodies stream through the fallback.
const maxInlineBody = 64 << 10

// NewHTTP1Transport returns an HTTP1Transport whose idle pool, idle timeout,
// response header limit and dial timeout follow fallback's settings (a nil fallback is
// NewTransport()).
func NewHTTP1Transport(fallback *http.Transport) *HTTP1Transport {
	if fallback == nil {
		fallback = NewTransport()
	}
	t := &HTTP1Transport{
		fallback:    fallback,
		dialer:      net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		maxIdle:     fallback.MaxIdleConnsPerHost,
		idleTimeout: fallback.IdleConnTimeout,
		maxHeader:   fallback.MaxResponseHeaderBytes,
		pools:       map[string]*connPool{},
	}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	if t.maxHeader <= 0 {
		t.maxHeader = 10 << 20 // http.Transport's default
	}
	return t
}

// CloseIdleConnections closes the pooled connections that carry no request,
// the fallback's included.
func (t *HTTP1Transport) CloseIdleConnections() {
	t.mu.Lock()
	pools := make([]*connPool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.closeIdle()
	}
	t.fallback.CloseIdleConnections()
}

// inline reports whether RoundTrip sends req itself.
func inline(req *http.Request) bool {
	if req.URL.Scheme != "http" || len(req.Trailer) > 0 || req.URL.Host == "" {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && (req.ContentLength <= 0 || req.ContentLength > maxInlineBody) {
		return false
	}
	h := req.Header
	if len(h["Upgrade"]) > 0 || len(h["Expect"]) > 0 || len(h["Transfer-Encoding"]) > 0 {
		return false
	}
	return true
}

// RoundTrip implements http.RoundTripper.
func (t *HTTP1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !inline(req) {
		return t.fallback.RoundTrip(req)
	}
	if err := checkHeader(req); err != nil {
		return nil, err
	}
	pool := t.pool(req.URL.Host)
	ctx := req.Context()
	var body []byte
	read := false
	for fresh := false; ; fresh = true {
		c, reused, err := pool.get(ctx, &t.dialer, fresh)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		if !read {
			// Read only once connected: a dial that fails leaves the body
			// unread, so the caller may send it to another instance.
			if body, err = readBody(req); err != nil {
				c.release(true)
				return nil, err
			}
			read = true
		}
		resp, err := c.exchange(ctx, req, body, reused)
		if err == nil {
			return resp, nil
		}
		c.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A pooled connection the upstream closed while it sat idle fails
		// before any byte of an answer: the request never reached a handler,
		// so it goes again, once, on a new connection.
		var nr nothingRead
		if !errors.As(err, &nr) {
			return nil, err
		}
		if reused && (!nr.written || replayable(req)) {
			continue
		}
		return nil, nr.err
	}
}

// readBody reads req's body whole (inline allows only small ones) and
// closes it.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		closeBody(req)
		return nil, nil
	}
	buf := make([]byte, req.ContentLength)
	_, err := io.ReadFull(req.Body, buf)
	req.Body.Close()
	return buf, err
}

// closeBody closes req's body, as a RoundTripper must even on errors.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func (t *HTTP1Transport) pool(addr string) *connPool {
	t.mu.Lock()
	p := t.pools[addr]
	if p == nil {
		p = &connPool{addr: addr, max: t.maxIdle, idleTimeout: t.idleTimeout, maxHeader: t.maxHeader, forget: t.forget}
		t.pools[addr] = p
	}
	t.mu.Unlock()
	return p
}

// forget drops p from the pools once it has had neither an idle connection
// nor a request for an idle timeout, so that instances come and gone (pods
// replaced at every rollout) do not each leave a pool behind. A request
// still holding p puts its connection back into p alone, whose sweep
// closes it.
func (t *HTTP1Transport) forget(p *connPool) {
	t.mu.Lock()
	if t.pools[p.addr] == p {
		delete(t.pools, p.addr)
	}
	t.mu.Unlock()
}

// connPool keeps one upstream address's idle connections, most recently
// used last: the busiest few stay warm, and the oldest (first) are the ones
// closed when they outlive the idle timeout.
type connPool struct {
	addr        string
	max         int
	idleTimeout time.Duration
	maxHeader   int64
	forget      func(*connPool)

	mu    sync.Mutex
	idle  []*h1conn
	sweep *time.Timer // made once; armed while idle holds a connection
	armed bool
	used  bool // a request came since the last sweep
}

// get takes the most recently used idle connection, or dials a new one
// when there is none or fresh is set. An idle connection the upstream has
// closed or written to unasked is closed and skipped: the bytes of an
// unasked answer would otherwise be read as the next request's answer.
func (p *connPool) get(ctx context.Context, d *net.Dialer, fresh bool) (*h1conn, bool, error) {
	for !fresh {
		p.mu.Lock()
		p.used = true
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if (p.idleTimeout > 0 && time.Since(c.idleSince) > p.idleTimeout) || !c.open() {
			c.conn.Close()
			continue
		}
		return c, true, nil
	}
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	c := &h1conn{pool: p, conn: conn, bw: bufio.NewWriterSize(conn, 4<<10), limit: math.MaxInt64}
	c.br = bufio.NewReaderSize(c, 4<<10)
	return c, false, nil
}

// put returns c to the pool, or closes it when the pool is full.
func (p *connPool) put(c *h1conn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	full := len(p.idle) >= p.max
	if !full {
		p.idle = append(p.idle, c)
		p.armLocked(p.idleTimeout)
	}
	p.mu.Unlock()
	if full {
		c.conn.Close()
	}
}

// armLocked makes sure the sweep runs within d. A pool whose address gets
// no more requests (an instance scaled in) is not looked at again, so only
// a timer can close its connections; one per pool, reset rather than made,
// costs a request nothing.
func (p *connPool) armLocked(d time.Duration) {
	if p.idleTimeout <= 0 || p.armed {
		return
	}
	p.armed = true
	if p.sweep == nil {
		p.sweep = time.AfterFunc(d, p.sweepIdle)
	} else {
		p.sweep.Reset(d)
	}
}

// sweepIdle closes the idle connections past the timeout, from the oldest,
// and comes back when the next one will be; a pool left with none, and no
// request since the last sweep, is forgotten.
func (p *connPool) sweepIdle() {
	now := time.Now()
	p.mu.Lock()
	var stale []*h1conn
	for len(p.idle) > 0 && now.Sub(p.idle[0].idleSince) >= p.idleTimeout {
		stale = append(stale, p.idle[0])
		p.idle[0] = nil
		p.idle = p.idle[1:]
	}
	p.armed = false
	forget := false
	switch {
	case len(p.idle) > 0:
		p.armLocked(p.idle[0].idleSince.Add(p.idleTimeout).Sub(now))
	case p.used:
		p.used = false
		p.armLocked(p.idleTimeout) // in use: look again after a timeout
	default:
		forget = true
	}
	p.mu.Unlock()
	for _, s := range stale {
		s.conn.Close()
	}
	if forget && p.forget != nil {
		p.forget(p)
	}
}

func (p *connPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// h1conn is one upstream connection with its buffers.
type h1conn struct {
	pool      *connPool
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	limit     int64       // bytes br may still read; bounds an answer's head
	stop      func() bool // ends the exchange's watch of its context, when it has one
}

func (c *h1conn) close() { c.conn.Close() }

// Read is br's source: the connection, read no further than limit, so an
// upstream cannot grow an answer's head without end (http.Transport's
// MaxResponseHeaderBytes).
func (c *h1conn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, fmt.Errorf("proxy: upstream response headers exceeded %d bytes", c.pool.maxHeader)
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.conn.Read(p)
	c.limit -= int64(n)
	return n, err
}

// open reports whether an idle connection can carry a request: the
// upstream has not closed it and has sent nothing. http.Transport learns
// this from the read it keeps pending on every connection; this transport
// keeps none, so it peeks once, without waiting, before each reuse.
func (c *h1conn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	return socketOpen(c.conn)
}

// nothingRead is the error of an exchange that failed before any byte of
// the answer arrived; written says whether the request had been sent.
type nothingRead struct {
	err     error
	written bool
}

func (e nothingRead) Error() string { return e.err.Error() }
func (e nothingRead) Unwrap() error { return e.err }

// replayable is net/http's rule for sending a request again after the
// upstream may have seen it: methods that are safe to repeat, or a client
// that said so with an idempotency key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return len(req.Header["Idempotency-Key"]) > 0 || len(req.Header["X-Idempotency-Key"]) > 0
}

// maxInterim bounds the interim (1xx) answers read before the real one, so
// that an upstream cannot keep a request busy with them.
const maxInterim = 16

var errTooManyInterim = fmt.Errorf("proxy: more than %d interim (1xx) answers", maxInterim)

var errIdle408 = errors.New("proxy: 408 Request Timeout on an idle pooled connection")

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked read or
// write at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange sends req (with body, already read) on c, pooled when reused,
// and reads the answer's head. The connection belongs to the returned body
// until it ends.
func (c *h1conn) exchange(ctx context.Context, req *http.Request, body []byte, reused bool) (*http.Response, error) {
	if ctx.Done() != nil {
		conn := c.conn
		c.stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		if c.stop != nil {
			c.stop()
		}
		return nil, err
	}
	writeRequest(c.bw, req, body)
	if err := c.bw.Flush(); err != nil {
		return fail(nothingRead{err: err})
	}
	var resp *http.Response
	for interim := 0; ; interim++ {
		c.limit = c.pool.maxHeader // what br already holds is not counted: a little generous
		if _, err := c.br.Peek(1); err != nil && interim == 0 {
			return fail(nothingRead{err: err, written: true})
		}
		r, err := http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		// Interim answers (100 Continue, 103 Early Hints) precede the real
		// one and go to the request's httptrace.ClientTrace, as with
		// http.Transport; 101 is never asked for here.
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			if interim == maxInterim {
				return fail(errTooManyInterim)
			}
			if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
				if err := trace.Got1xxResponse(r.StatusCode, textproto.MIMEHeader(r.Header)); err != nil {
					return fail(err)
				}
			}
			continue
		}
		resp = r
		break
	}
	c.limit = math.MaxInt64 // the body is not bounded
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("proxy: unexpected 101 Switching Protocols"))
	}
	// Some servers write a 408 on a keep-alive connection as they close it
	// for idleness: it was waiting before the request went, and answers
	// nothing. http.Transport drops it unread; here a request that may go
	// again does, on a new connection (a 408 that was the request's own
	// comes again there).
	if resp.StatusCode == http.StatusRequestTimeout && reused && replayable(req) {
		return fail(nothingRead{err: errIdle408, written: true})
	}
	reuse := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		c.release(reuse)
		return resp, nil
	}
	resp.Body = &h1body{rc: resp.Body, c: c, ctx: ctx, reuse: reuse}
	return resp, nil
}

// release ends an exchange: the connection goes back to the pool when it
// can carry another request, and is closed otherwise.
func (c *h1conn) release(reuse bool) {
	if c.stop != nil && !c.stop() {
		reuse = false // the context ended: the deadline may already be set
	}
	c.stop = nil
	if c.br.Buffered() > 0 {
		// Bytes after a whole answer belong to none (a body sent with a
		// HEAD's or a 204's answer): the next answer would start with them.
		reuse = false
	}
	if reuse {
		c.pool.put(c)
	} else {
		c.conn.Close()
	}
}

// h1body is a response body that releases its connection once.
type h1body struct {
	rc    io.ReadCloser
	c     *h1conn
	ctx   context.Context // the request's
	reuse bool
	done  atomic.Bool // not a mutex: the struct stays in its size class
}

func (b *h1body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF && b.ctx.Err() != nil {
			// The read failed on the deadline the context's end set: the
			// error is the context's, as with http.Transport, not a
			// timeout that reads as the upstream's fault.
			err = context.Cause(b.ctx)
		}
		b.end(err == io.EOF)
	}
	return n, err
}

func (b *h1body) Close() error {
	b.end(false)
	return nil
}

// end releases the connection: for reuse only after a clean EOF (the whole
// answer was read, so the next one starts at the buffer's head).
func (b *h1body) end(eof bool) {
	if b.done.CompareAndSwap(false, true) {
		b.c.release(b.reuse && eof)
	}
}

// writeRequest writes req's head and body. Like http.Transport it adds no
// header of its own but Host, Content-Length and Connection: close; unlike
// it, no default User-Agent (a gateway forwards the client's).
func writeRequest(w *bufio.Writer, req *http.Request, body []byte) {
	if req.Method == "" {
		w.WriteString(http.MethodGet) // a client request's empty method means GET
	} else {
		w.WriteString(req.Method)
	}
	w.WriteByte(' ')
	u := req.URL
	switch {
	case u.Opaque != "":
		w.WriteString(u.RequestURI())
	default:
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		w.WriteString(p)
		if u.ForceQuery || u.RawQuery != "" {
			w.WriteByte('?')
			w.WriteString(u.RawQuery)
		}
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = u.Host
	}
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			continue
		case "User-Agent":
			if len(vv) == 1 && vv[0] == "" {
				continue // set empty to mean "none", as http.Transport reads it
			}
		}
		for _, v := range vv {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	switch {
	case len(body) > 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n")
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
}

// checkHeader refuses what http.Transport refuses: a method that is not a
// token, a control character in the request target (the path is written
// escaped, the query and an opaque target as they are), an invalid Host, a
// field name that is not a token, or a value with a control character
// other than tab — so that nothing can end the request line or a header
// and start a request of its own.
func checkHeader(req *http.Request) error {
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) { // the same token rule
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	if hasCTL(req.URL.RawQuery) || hasCTL(req.URL.Opaque) {
		return errors.New("net/http: can't write control character in Request.URL")
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("http: invalid Host header %q", host)
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// hasCTL reports whether s holds an ASCII control character.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
