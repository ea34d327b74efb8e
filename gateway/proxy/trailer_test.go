package proxy_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// TestRequestTrailersFiltered: a chunked request's trailers reach the
// upstream without hop-by-hop fields (those its Connection header names
// included), without forwarding fields and without fields the gateway
// sets in the header itself: an upstream that merges trailers into the
// header would otherwise take a client's X-Forwarded-For or identity
// header for the gateway's. Other announced trailers arrive with their
// values.
func TestRequestTrailersFiltered(t *testing.T) {
	got := upstreamSees(t, func(u *upstream.Upstream) http.Handler {
		p := proxy.New(u)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("X-Consumer-Id", "acme") // as authentication forwards it
			p.ServeHTTP(w, r)
		})
	}, "POST /t HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: X-Private\r\n"+
		"Trailer: X-Checksum, X-Forwarded-For, Forwarded, X-Forwarded-Host, X-Forwarded-Proto, Keep-Alive, Connection, Upgrade, Te, X-Private, X-Consumer-Id\r\n\r\n"+
		"4\r\nbody\r\n0\r\n"+
		"X-Checksum: abc\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n"+
		"Keep-Alive: 1\r\nConnection: close\r\nUpgrade: h2c\r\nTe: trailers\r\nX-Private: 1\r\nX-Consumer-Id: admin\r\n\r\n")
	if got != "body X-Checksum=abc" {
		t.Errorf("upstream saw body and trailers %q, want %q", got, "body X-Checksum=abc")
	}
}

// upstreamSees sends the raw request through front, built on an upstream
// of one backend, and returns what the backend saw of it: its body and
// its trailers, sorted ("body K=v1,v2 K2=v").
func upstreamSees(t *testing.T, front func(*upstream.Upstream) http.Handler, raw string) string {
	t.Helper()
	seen := make(chan string, 1)
	back, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var got []string
		for k, vv := range r.Trailer {
			got = append(got, k+"="+strings.Join(vv, ","))
		}
		slices.Sort(got)
		seen <- string(body) + " " + strings.Join(got, " ")
	})
	srv := httptest.NewServer(front(startUpstream(t, []string{addr(back)})))
	defer srv.Close()
	postRaw(t, addr(srv), raw)
	return <-seen
}

// TestUpstreamBodyBrokeRecorded: an upstream whose body breaks off after
// its head was passed on leaves the status at what the client was sent
// (200), but the request's error says why the answer was cut, so the
// access log line does not read as a clean 200.
func TestUpstreamBodyBrokeRecorded(t *testing.T) {
	back, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only ten b")
		w.(http.Flusher).Flush()
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	})
	u := startUpstream(t, []string{addr(back)})
	p := proxy.New(u, proxy.WithLogger(slog.New(slog.DiscardHandler)))
	done := make(chan string, 1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := request.NewInfo("cut", "svc", request.Client{})
		// Deferred: the proxy aborts the handler with a panic.
		defer func() { done <- info.State().Error }()
		p.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), info)))
	}))
	defer front.Close()
	resp, err := http.Get(front.URL)
	if err == nil {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if got := <-done; got != "upstream body broke" {
		t.Errorf("request error %q, want %q", got, "upstream body broke")
	}
}

// TestEchoedHeaderNotDoubled: a header the gateway set on the answer
// before proxying (the request id) and that the upstream echoes with the
// same value is sent once, not as two equal field lines; a different value
// from the upstream is still added.
func TestEchoedHeaderNotDoubled(t *testing.T) {
	back, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.Header().Set("Vary", "Origin")
		io.WriteString(w, "ok")
	})
	u := startUpstream(t, []string{addr(back)})
	p := proxy.New(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Request-Id", "abc")
		w.Header().Set("X-Request-Id", "abc")
		w.Header().Set("Vary", "Accept-Encoding")
		p.ServeHTTP(w, r)
	}))
	defer front.Close()
	resp, err := http.Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Values("X-Request-Id"); !slices.Equal(got, []string{"abc"}) {
		t.Errorf("X-Request-Id: %q, want it once", got)
	}
	if got := resp.Header.Values("Vary"); !slices.Equal(got, []string{"Accept-Encoding", "Origin"}) {
		t.Errorf("Vary: %q, want both values", got)
	}
}

// TestIdentityTrailersDroppedWhenAnonymous: authn.Forward deletes the
// identity headers a client sends, so an upstream that trusts them sees
// only what the gateway established. On an anonymous request nothing is
// set in their place, so the proxy's header check did not catch the same
// names sent as request trailers, and an upstream merging trailers into
// the header took the client's X-Consumer-Id for the gateway's. They must
// be dropped like the headers, in any case and with underscores too.
func TestIdentityTrailersDroppedWhenAnonymous(t *testing.T) {
	got := upstreamSees(t, func(u *upstream.Upstream) http.Handler {
		return authn.Forward(authn.ForwardHeaders{ConsumerID: "X-Consumer-Id", Method: "X-Auth-Method"})(proxy.New(u))
	}, "POST /t HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"+
		"Trailer: X-Checksum, x-consumer-id, X_Auth_Method\r\n\r\n"+
		"4\r\nbody\r\n0\r\n"+
		"X-Checksum: abc\r\nx-consumer-id: admin\r\nX_Auth_Method: jwt\r\n\r\n")
	if got != "body X-Checksum=abc" {
		t.Errorf("upstream saw body and trailers %q, want %q", got, "body X-Checksum=abc")
	}
}

// postRaw sends a raw HTTP/1.1 request (a chunked one with trailers, which
// net/http's client cannot write as needed) to addr and wants a 200.
func postRaw(t *testing.T, addr, raw string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestTrailerBodyCopiesDeclaredOnly: when the client's body ends, only the
// trailers declared on the upstream request (those the proxy kept) get
// their values. The HTTP/2 transport (grpcproxy's) sends every key of
// Request.Trailer, declared or not, so copying the client's whole map sent
// the trailers the proxy had dropped (X-Forwarded-For, identity headers) to
// any upstream that is not a Go server (Go's ignores undeclared trailers).
func TestTrailerBodyCopiesDeclaredOnly(t *testing.T) {
	in := http.Header{"X-Checksum": {"c0ffee"}, "X-Forwarded-For": {"6.6.6.6"}}
	out := http.Header{"X-Checksum": nil}
	b := proxy.TrailerBody(io.NopCloser(strings.NewReader("body")), in, out)
	if out.Get("X-Checksum") != "" {
		t.Fatalf("trailer filled in before the body ended: %v", out)
	}
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out.Get("X-Checksum") != "c0ffee" {
		t.Errorf("upstream trailers %v, want only X-Checksum: c0ffee", out)
	}
}
