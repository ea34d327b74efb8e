package grpcproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/request"
)

// Protocol is how the gateway speaks to an upstream's instances.
type Protocol string

// The protocols. HTTP1 is the gateway's default: many connections, each
// carrying one request at a time. The HTTP/2 ones multiplex requests on
// few connections and carry trailers, which gRPC needs.
const (
	// HTTP1 is HTTP/1.1, over TLS for instances with scheme https.
	HTTP1 Protocol = "http1"
	// H2C is cleartext HTTP/2 with prior knowledge (what gRPC servers
	// without TLS speak), to every instance whatever its scheme.
	H2C Protocol = "h2c"
	// H2 is HTTP/2 over TLS, negotiated with ALPN "h2", to every instance
	// whatever its scheme; a server that does not offer h2 is an error.
	H2 Protocol = "h2"
)

// Protocols lists the valid protocols, the default first.
var Protocols = []Protocol{HTTP1, H2C, H2}

// Valid reports whether p is one of Protocols or empty (HTTP1).
func (p Protocol) Valid() bool { return p == "" || p == HTTP1 || p == H2C || p == H2 }

// Option configures NewTransport.
type Option func(*Transport)

// WithTLS sets the TLS client configuration (private CAs, server name,
// client certificates) used for https instances and with H2.
func WithTLS(c *tls.Config) Option { return func(t *Transport) { t.tls = c.Clone() } }

// WithPingTimeouts sets how long an HTTP/2 connection may stay silent
// before the gateway pings it (readIdle), and how long the ping may take
// before the connection is closed as dead, failing its calls (default 15s
// and 5s). It is what notices an upstream host that vanished without
// closing its connections.
func WithPingTimeouts(readIdle, ping time.Duration) Option {
	return func(t *Transport) { t.readIdle, t.ping = readIdle, ping }
}

// Transport is an http.RoundTripper to one upstream's instances with the
// gRPC handling described in the package documentation. Create it with
// NewTransport; it is safe for concurrent use and meant to be shared by
// every request to the upstream (it pools connections).
type Transport struct {
	protocol       Protocol
	tls            *tls.Config
	readIdle, ping time.Duration
	base           *http.Transport
}

// NewTransport returns a Transport speaking p (empty means HTTP1). It
// starts from proxy.NewTransport's tuning.
func NewTransport(p Protocol, opts ...Option) (*Transport, error) {
	if p == "" {
		p = HTTP1
	}
	if !p.Valid() {
		return nil, fmt.Errorf("grpcproxy: protocol %q is not one of http1, h2c, h2", p)
	}
	t := &Transport{protocol: p, readIdle: 15 * time.Second, ping: 5 * time.Second}
	for _, opt := range opts {
		opt(t)
	}
	base := proxy.NewTransport()
	base.TLSClientConfig = t.tls
	protocols := new(http.Protocols)
	switch p {
	case H2C:
		protocols.SetUnencryptedHTTP2(true)
	case H2:
		protocols.SetHTTP2(true)
	default:
		protocols.SetHTTP1(true)
	}
	base.Protocols = protocols
	base.HTTP2 = &http.HTTP2Config{SendPingTimeout: t.readIdle, PingTimeout: t.ping}
	t.base = base
	return t, nil
}

// Protocol returns the protocol the transport speaks.
func (t *Transport) Protocol() Protocol { return t.protocol }

// CloseIdleConnections closes the pooled connections that carry no request.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// RoundTrip implements http.RoundTripper. req is not modified.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req
	if scheme := t.scheme(); scheme != "" && req.URL.Scheme != scheme {
		out = shallow(req)
		u := *req.URL
		u.Scheme = scheme
		out.URL = &u
	}
	if !grpcstatus.IsGRPC(req) {
		return t.base.RoundTrip(out)
	}
	ctx := req.Context()
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		if out == req {
			out = shallow(req)
		}
		out.Header = req.Header.Clone()
		out.Header.Set(grpcstatus.HeaderTimeout, FormatTimeout(left))
	}
	if in, ok := ctx.Value(trailerKey{}).(http.Header); ok && out.Body != nil && out.Body != http.NoBody && len(req.Trailer) > 0 {
		if out == req {
			out = shallow(req)
		}
		// Only the trailers req declares: the proxy has left out those
		// that must not go upstream.
		out.Trailer = make(http.Header, len(req.Trailer))
		for k := range in {
			if _, ok := req.Trailer[k]; ok {
				out.Trailer[k] = nil // declared now, sent after the body
			}
		}
		out.Body = proxy.TrailerBody(out.Body, in, out.Trailer)
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if !grpcstatus.IsGRPCContentType(resp.Header.Get("Content-Type")) {
		return resp, nil
	}
	if _, ok := grpcstatus.FromHeader(resp.Header); ok {
		// Trailers-only: it must leave as one HEADERS frame ending the
		// stream. Flushing the headers first would make them headers
		// without trailers, which clients take for a broken stream.
		resp.ContentLength = 0
		return resp, nil
	}
	resp.ContentLength = -1 // a stream: the reverse proxy flushes every message at once
	resp.Body = &streamBody{rc: resp.Body, resp: resp, ctx: ctx}
	return resp, nil
}

func (t *Transport) scheme() string {
	switch t.protocol {
	case H2C:
		return "http"
	case H2:
		return "https"
	}
	return ""
}

func shallow(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	return r2
}

// Reasons recorded in request.Info (the access log's error) when a stream
// that had started is ended by the gateway.
const (
	ReasonStreamBroke    = "upstream stream broke"
	ReasonStreamDeadline = "deadline exceeded mid-stream"
)

// streamBody ends a gRPC response whose upstream stream broke after it
// started with grpc-status trailers, which the reverse proxy then sends:
// without them the server resets the stream and the client sees INTERNAL.
type streamBody struct {
	rc     io.ReadCloser
	resp   *http.Response
	ctx    context.Context
	broken bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.broken {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	b.broken = true
	code, msg, reason := grpcstatus.Unavailable, "upstream stream broke: "+streamError(err), ReasonStreamBroke
	switch {
	case errors.Is(b.ctx.Err(), context.DeadlineExceeded) || proxy.PastDeadline(b.ctx):
		code, msg, reason = grpcstatus.DeadlineExceeded, "deadline exceeded at the gateway", ReasonStreamDeadline
	case b.ctx.Err() != nil:
		code, msg, reason = grpcstatus.Canceled, "call cancelled", outcome.ErrClientClosed
	}
	if info := request.InfoFrom(b.ctx); info != nil {
		info.SetError(reason) // the access log's error
	}
	if b.resp.Trailer == nil {
		b.resp.Trailer = http.Header{}
	}
	b.resp.Trailer.Set(grpcstatus.HeaderStatus, strconv.Itoa(int(code)))
	b.resp.Trailer.Set(grpcstatus.HeaderMessage, grpcstatus.EncodeMessage(msg))
	return n, io.EOF
}

func (b *streamBody) Close() error { return b.rc.Close() }

// streamError describes err without addresses.
func streamError(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed"
	}
	return "connection lost"
}
