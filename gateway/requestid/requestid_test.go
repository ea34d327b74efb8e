package requestid

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/request"
)

// seen runs one request through Middleware and returns the id the handler
// saw in its context and request header, and the response.
func seen(t *testing.T, req *http.Request) (ctxID, headerID string, resp *httptest.ResponseRecorder) {
	t.Helper()
	resp = httptest.NewRecorder()
	Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxID = From(r.Context())
		if n := len(r.Header.Values(Header)); n != 1 {
			t.Errorf("handler saw %d %s headers, want 1", n, Header)
		}
		headerID = r.Header.Get(Header)
	})).ServeHTTP(resp, req)
	return ctxID, headerID, resp
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func TestGenerated(t *testing.T) {
	ids := map[string]bool{}
	for range 1000 {
		ctxID, headerID, resp := seen(t, httptest.NewRequest("GET", "/", nil))
		if !isHex32(ctxID) {
			t.Fatalf("generated id %q is not 32 hex characters", ctxID)
		}
		if headerID != ctxID || resp.Header().Get(Header) != ctxID {
			t.Fatalf("context %q, request header %q, response header %q differ", ctxID, headerID, resp.Header().Get(Header))
		}
		if ids[ctxID] {
			t.Fatalf("id %q generated twice", ctxID)
		}
		ids[ctxID] = true
	}
}

func TestIncoming(t *testing.T) {
	long := strings.Repeat("a", MaxLen)
	for _, c := range []struct {
		in   string
		keep bool
	}{
		{"abc-123", true},
		{"0af7651916cd43dd8448eb211c80319c", true},
		{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6", true},
		{"base64+/=~!#$%&()*,.:;<>?@[]^_{|}", true},
		{long, true},
		{long + "a", false},
		{"has space", false},
		{`quote"d`, false},
		{"single'q", false},
		{"back`tick", false},
		{`back\slash`, false},
		{"tab\there", false},
		{"del\x7f", false},
		{"caf\u00e9", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(Header, c.in)
		ctxID, headerID, resp := seen(t, req)
		if got := ctxID == c.in; got != c.keep {
			t.Errorf("%q: kept=%v, want %v (got %q)", c.in, got, c.keep, ctxID)
		}
		if !c.keep && !isHex32(ctxID) {
			t.Errorf("%q: replacement %q is not a generated id", c.in, ctxID)
		}
		if headerID != ctxID || resp.Header().Get(Header) != ctxID {
			t.Errorf("%q: context %q, request header %q, response header %q differ", c.in, ctxID, headerID, resp.Header().Get(Header))
		}
	}
}

func TestRepeatedHeaderCollapsed(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add(Header, "first")
	req.Header.Add(Header, "second")
	ctxID, headerID, _ := seen(t, req) // seen checks there is one value
	if ctxID != "first" || headerID != "first" {
		t.Errorf("got %q / %q, want the first id", ctxID, headerID)
	}
}

func TestReachesUpstream(t *testing.T) {
	const (
		traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		tracestate  = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
	)
	gw, got := proxied(t)

	for _, incoming := range []string{"", "client-id-1", "bad id"} {
		req, _ := http.NewRequest("GET", gw.URL, nil)
		if incoming != "" {
			req.Header.Set(Header, incoming)
		}
		req.Header.Set("Traceparent", traceparent)
		req.Header.Set("Tracestate", tracestate)
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := <-got
		id := resp.Header.Get(Header)
		if id == "" || h.Get(Header) != id || len(h.Values(Header)) != 1 {
			t.Errorf("incoming %q: upstream saw %q, client got %q", incoming, h.Values(Header), id)
		}
		if incoming == "client-id-1" && id != incoming {
			t.Errorf("sane incoming id replaced by %q", id)
		}
		if h.Get("Traceparent") != traceparent || h.Get("Tracestate") != tracestate {
			t.Errorf("trace context changed: %q %q", h.Get("Traceparent"), h.Get("Tracestate"))
		}
	}
}

func TestFromEmpty(t *testing.T) {
	if id := From(httptest.NewRequest("GET", "/", nil).Context()); id != "" {
		t.Errorf("From without Middleware = %q", id)
	}
}

type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

func BenchmarkMiddleware(b *testing.B) {
	h := Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, c := range []struct{ name, incoming string }{{"generate", ""}, {"reuse", "0af7651916cd43dd8448eb211c80319c"}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			w := nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				if c.incoming == "" {
					delete(req.Header, Header)
				} else {
					req.Header[Header] = []string{c.incoming}
				}
				h.ServeHTTP(w, req)
			}
		})
	}
}

// Under a route table the id is kept in the request's Info rather than in a
// copy of the request: From finds it there, for a generated id and for a
// client's, and the handler gets the very request the table made.
func TestKeptInInfo(t *testing.T) {
	for _, sent := range []string{"", "client-id-7"} {
		info := request.NewInfo("users", "", request.Client{})
		req := httptest.NewRequest("GET", "/", nil)
		if sent != "" {
			req.Header.Set(Header, sent)
		}
		req = req.WithContext(request.WithInfo(req.Context(), info))
		var got string
		var same bool
		resp := httptest.NewRecorder()
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, same = From(r.Context()), r == req
		})).ServeHTTP(resp, req)
		want := sent
		if sent == "" {
			want = resp.Header().Get(Header)
		}
		if !isHex32(want) && want != sent || got != want || info.RequestID() != want || req.Header.Get(Header) != want {
			t.Errorf("sent %q: From %q, Info %q, request header %q, response header %q", sent, got, info.RequestID(), req.Header.Get(Header), resp.Header().Get(Header))
		}
		if !same {
			t.Errorf("sent %q: the handler got a copy of the request", sent)
		}
	}
}

// TestUnderscoreSpellingDropped: CGI-style upstreams (PHP, WSGI, Rack) read
// X_Request_Id as X-Request-Id (both become HTTP_X_REQUEST_ID), so a client
// could send an id through that spelling which was never validated and
// differs from the one the gateway logged. Like authn.Forward with the
// identity headers, the middleware drops every other spelling.
func TestUnderscoreSpellingDropped(t *testing.T) {
	gw, got := proxied(t)

	for _, incoming := range []string{"", "client-id-1", "bad id"} {
		req, _ := http.NewRequest("GET", gw.URL, nil)
		if incoming != "" {
			req.Header.Set(Header, incoming)
		}
		req.Header["X_Request_Id"] = []string{`smuggled"` + strings.Repeat("x", 500)}
		req.Header["x_request_ID"] = []string{"another"}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := <-got
		id := resp.Header.Get(Header)
		for k, v := range h {
			if k != Header && strings.EqualFold(strings.ReplaceAll(k, "_", "-"), Header) {
				t.Errorf("incoming %q: upstream got %s (%d values) next to the id %q", incoming, k, len(v), id)
			}
		}
		if h.Get(Header) != id || id == "" {
			t.Errorf("incoming %q: upstream saw id %q, client got %q", incoming, h.Get(Header), id)
		}
	}
}

// proxied serves Middleware in front of a reverse proxy to an upstream
// that sends each request's header to got.
func proxied(t *testing.T) (gw *httptest.Server, got chan http.Header) {
	t.Helper()
	got = make(chan http.Header, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	t.Cleanup(upstream.Close)
	u, _ := url.Parse(upstream.URL)
	gw = httptest.NewServer(Middleware(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(gw.Close)
	return gw, got
}
