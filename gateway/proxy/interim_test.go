package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/internal/interim/interimtest"
)

// gatewayFor serves p behind a middleware that sets a header for the final
// answer before the proxy runs, as the gateway's own middleware does.
func gatewayFor(t *testing.T, p *proxy.Proxy) *httptest.Server {
	t.Helper()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "rid-1")
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	return gw
}

// TestForwardsInterimAnswers: 103 Early Hints from the upstream reach the
// client with their own fields (hop-by-hop ones dropped) on both paths — the
// inline HTTP1Transport and its http.Transport fallback (a body above 64
// KiB) —, 100 Continue is not passed on, and the final answer carries its
// own fields and the middleware's, none of the hints'.
func TestForwardsInterimAnswers(t *testing.T) {
	up, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusContinue)
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("Connection")
		w.Header().Del("X-Hop")
		w.Header().Set("Link", "</next>; rel=next")
		io.WriteString(w, "final")
	})
	gw := gatewayFor(t, proxy.New(startUpstream(t, []string{addr(up)})))
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"inline", nil},
		{"fallback", bytes.Repeat([]byte("x"), 100<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen interimtest.Recorder
			method := "GET"
			if tc.body != nil {
				method = "POST"
			}
			req, err := http.NewRequestWithContext(seen.Context(context.Background()), method, gw.URL+"/page", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != 200 || body != "final" {
				t.Fatalf("final answer: %d %q", resp.StatusCode, body)
			}
			if got := resp.Header.Values("Link"); len(got) != 1 || got[0] != "</next>; rel=next" {
				t.Errorf("final Link %q, want only the final answer's", got)
			}
			if resp.Header.Get("X-Request-Id") != "rid-1" {
				t.Errorf("final answer lost the middleware's field: %v", resp.Header)
			}
			got := seen.Answers()
			if len(got) != 1 || got[0].Code != http.StatusEarlyHints {
				t.Fatalf("interim answers %v, want [103]", seen.Codes())
			}
			h := got[0].Header
			if h.Get("Link") != "</app.css>; rel=preload" {
				t.Errorf("103 Link %q", h.Get("Link"))
			}
			if h.Get("X-Hop") != "" || h.Get("Connection") != "" {
				t.Errorf("103 kept hop-by-hop fields: %v", h)
			}
		})
	}
}

// TestTooManyInterimAnswers: an upstream that sends interim answers without
// end gets the request a 502, not a proxy stuck reading them.
func TestTooManyInterimAnswers(t *testing.T) {
	up, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		for range 40 {
			w.WriteHeader(http.StatusEarlyHints)
		}
		io.WriteString(w, "late")
	})
	gw := gatewayFor(t, proxy.New(startUpstream(t, []string{addr(up)})))
	var seen interimtest.Recorder
	req, _ := http.NewRequestWithContext(seen.Context(context.Background()), "GET", gw.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "invalid response") {
		t.Errorf("%d %q, want 502 for an invalid response", resp.StatusCode, body)
	}
	if n := len(seen.Answers()); n != 16 {
		t.Errorf("%d interim answers passed on, want 16 (the bound)", n)
	}
}

// TestHTTP1TransportInterimTrace: HTTP1Transport on its own gives interim
// answers to the request's ClientTrace, as http.Transport does.
func TestHTTP1TransportInterimTrace(t *testing.T) {
	up, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.js>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "ok")
	})
	tr := proxy.NewHTTP1Transport(nil)
	defer tr.CloseIdleConnections()
	var seen interimtest.Recorder
	req, _ := http.NewRequestWithContext(seen.Context(context.Background()), "GET", up.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if got := seen.Answers(); len(got) != 2 || got[0].Header.Get("Link") != "</a.js>; rel=preload" {
		t.Errorf("interim answers %v", got)
	}
}

// codesWriter records the status codes written to it.
type codesWriter struct {
	h     http.Header
	codes []int
	body  bytes.Buffer
}

func (w *codesWriter) Header() http.Header         { return w.h }
func (w *codesWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *codesWriter) WriteHeader(code int)        { w.codes = append(w.codes, code) }

// TestInterimWithCallersTrace: when the incoming request's context already
// carries a ClientTrace (a caller of ServeHTTP outside http.Server), that
// trace is called too, and the client still gets the 103.
func TestInterimWithCallersTrace(t *testing.T) {
	up, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "ok")
	})
	p := proxy.New(startUpstream(t, []string{addr(up)}))
	var seen interimtest.Recorder
	r := httptest.NewRequestWithContext(seen.Context(context.Background()), "GET", "/", nil)
	w := &codesWriter{h: http.Header{}}
	p.ServeHTTP(w, r)
	if len(w.codes) != 2 || w.codes[0] != 103 || w.codes[1] != 200 || w.body.String() != "ok" {
		t.Errorf("client got %v %q, want [103 200] ok", w.codes, w.body.String())
	}
	if codes := seen.Codes(); len(codes) != 1 || codes[0] != 103 {
		t.Errorf("caller's trace saw %v, want [103]", codes)
	}
}

// TestNoInterimForHTTP10: an HTTP/1.0 client gets no interim answer (RFC
// 9110 15.2), only the final one.
func TestNoInterimForHTTP10(t *testing.T) {
	up, _ := backend(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "final")
	})
	gw := gatewayFor(t, proxy.New(startUpstream(t, []string{addr(up)})))
	conn, err := net.Dial("tcp", addr(gw))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /page HTTP/1.0\r\nHost: gw\r\n\r\n")
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "HTTP/1.0 200 ") || strings.Contains(string(raw), " 103 ") || !strings.HasSuffix(string(raw), "final") {
		t.Errorf("HTTP/1.0 answer:\n%s", raw)
	}
}
