package cors_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/units"
)

// serve runs the middleware of o in front of a handler that counts its
// calls and sends the upstream's own CORS header, on a loopback server.
func serve(t *testing.T, o cors.Options) (url string, hits *atomic.Int64) {
	t.Helper()
	c, err := cors.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hits = new(atomic.Int64)
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream-says.example")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

func send(t *testing.T, method, url string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestPreflight(t *testing.T) {
	url, hits := serve(t, cors.Options{
		AllowOrigins:        []string{"https://app.example.com", "https://*.example.org"},
		AllowMethods:        []string{"GET", "put", "DELETE"},
		AllowHeaders:        []string{"authorization", "X-Trace"},
		AllowCredentials:    true,
		MaxAge:              units.Duration(3600e9),
		AllowPrivateNetwork: true,
	})
	resp := send(t, http.MethodOptions, url+"/x", "Origin", "https://a.b.example.org",
		"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization,x-trace",
		"Access-Control-Request-Private-Network", "true")
	want := map[string]string{
		"Access-Control-Allow-Origin":          "https://a.b.example.org",
		"Access-Control-Allow-Credentials":     "true",
		"Access-Control-Allow-Methods":         "GET, PUT, DELETE",
		"Access-Control-Allow-Headers":         "Authorization, X-Trace",
		"Access-Control-Max-Age":               "3600",
		"Access-Control-Allow-Private-Network": "true",
		"Vary":                                 "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d, want 204", resp.StatusCode)
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Refused preflights: 204 with no CORS headers, never the upstream.
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"origin", []string{"Origin", "https://evil.example.com", "Access-Control-Request-Method", "PUT"}},
		{"scheme", []string{"Origin", "http://app.example.com", "Access-Control-Request-Method", "PUT"}},
		{"port", []string{"Origin", "https://app.example.com:8443", "Access-Control-Request-Method", "PUT"}},
		{"apex", []string{"Origin", "https://example.org", "Access-Control-Request-Method", "PUT"}},
		{"method", []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "PATCH"}},
		{"header", []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-trace, x-other"}},
	} {
		resp := send(t, http.MethodOptions, url+"/x", tc.hdr...)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
			resp.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("%s: %d %v, want 204 without CORS headers", tc.name, resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("Vary") != want["Vary"] {
			t.Errorf("%s: Vary %q", tc.name, resp.Header.Get("Vary"))
		}
	}
	// A safelisted method needs no listing; no private network asked, none granted.
	resp = send(t, http.MethodOptions, url+"/x", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Allow-Private-Network") != "" {
		t.Errorf("POST preflight: %v", resp.Header)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d preflights, want 0", n)
	}
	// OPTIONS without Access-Control-Request-Method is not a preflight.
	send(t, http.MethodOptions, url+"/x", "Origin", "https://app.example.com")
	if n := hits.Load(); n != 1 {
		t.Errorf("a plain OPTIONS reached the upstream %d times, want 1", n)
	}
}

func TestPreflightReflectsHeaders(t *testing.T) {
	url, _ := serve(t, cors.Options{AllowOrigins: []string{"*"}, AllowHeaders: []string{"*"}})
	resp := send(t, http.MethodOptions, url, "Origin", "https://any.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "x-a,x-b")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Headers") != "x-a,x-b" {
		t.Errorf("got %v", resp.Header)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" || resp.Header.Get("Access-Control-Max-Age") != "" {
		t.Errorf("unasked headers: %v", resp.Header)
	}
}

func TestActualRequest(t *testing.T) {
	url, hits := serve(t, cors.Options{AllowOrigins: []string{"https://app.example.com"}, ExposeHeaders: []string{"x-total"}, AllowCredentials: true})
	resp := send(t, http.MethodGet, url, "Origin", "https://app.example.com")
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.example.com" {
		t.Errorf("allowed origin: ACAO %q, want only the request's origin (not the upstream's)", got)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Expose-Headers") != "X-Total" {
		t.Errorf("allowed origin: %v", resp.Header)
	}
	if got := resp.Header.Values("Vary"); strings.Join(got, ",") != "Accept-Encoding,Origin" {
		t.Errorf("Vary %q, want the upstream's and Origin", got)
	}
	for _, origin := range []string{"https://evil.example", ""} {
		resp = send(t, http.MethodGet, url, "Origin", origin)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("origin %q: %d %v, want 200 without CORS headers", origin, resp.StatusCode, resp.Header)
		}
		if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("origin %q: Vary %q lacks Origin", origin, resp.Header.Values("Vary"))
		}
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("the upstream served %d requests, want 3", n)
	}
}

func TestAnyOriginNoVary(t *testing.T) {
	url, _ := serve(t, cors.Options{AllowOrigins: []string{"*"}})
	resp := send(t, http.MethodGet, url, "Origin", "https://a.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("got %v, want ACAO * and no Vary: Origin (the answer is the same for every origin)", resp.Header)
	}
}

func TestOriginMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		origin  string
		want    bool
	}{
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com", "https://APP.example.com", true},
		{"https://app.example.com:443", "https://app.example.com", true},
		{"https://app.example.com", "https://app.example.com:443", true},
		{"https://app.example.com", "http://app.example.com", false},
		{"https://app.example.com", "https://app.example.com.evil.net", false},
		{"https://app.example.com", "https://app.example.com/", false},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://localhost:3000", "http://localhost:3001", false},
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://.example.com", false},
		{"https://*.example.com", "https://evilexample.com", false},
		{"https://*.example.com", "https://a.example.com:8443", false},
		{"https://*.example.com:8443", "https://a.example.com:8443", true},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a_b.example.com", false},
		{"https://*.example.com", "null", false},
		{"*", "null", true},
		{"http://[::1]:8080", "http://[::1]:8080", true},
	} {
		p, err := cors.ParseOrigin(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Match(tc.origin); got != tc.want {
			t.Errorf("%s matches %q: %v, want %v", tc.pattern, tc.origin, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o     cors.Options
		field string
		msg   string
	}{
		{cors.Options{}, "allow_origins", "at least one origin"},
		{cors.Options{AllowOrigins: []string{"*"}, AllowCredentials: true}, "allow_origins[0]", "cannot be combined with allow_credentials"},
		{cors.Options{AllowOrigins: []string{"https://a.example", "*"}}, "allow_origins[1]", "list it alone"},
		{cors.Options{AllowOrigins: []string{"null"}}, "allow_origins[0]", "sandboxed"},
		{cors.Options{AllowOrigins: []string{"app.example.com"}}, "allow_origins[0]", "scheme://host"},
		{cors.Options{AllowOrigins: []string{"https://app.example.com/"}}, "allow_origins[0]", "no path"},
		{cors.Options{AllowOrigins: []string{"https://a.*.example.com"}}, "allow_origins[0]", "first label"},
		{cors.Options{AllowOrigins: []string{"https://*.com"}}, "allow_origins[0]", "needs a domain"},
		{cors.Options{AllowOrigins: []string{"https://a.example:0"}}, "allow_origins[0]", "port"},
		{cors.Options{AllowOrigins: []string{"https://a.example", "https://A.example:443"}}, "allow_origins[1]", "already listed"},
		{cors.Options{AllowOrigins: []string{"*"}, AllowMethods: []string{"GE T"}}, "allow_methods[0]", "not a method"},
		{cors.Options{AllowOrigins: []string{"*"}, AllowHeaders: []string{"X-A", "*"}}, "allow_headers[1]", "alone"},
		{cors.Options{AllowOrigins: []string{"*"}, AllowHeaders: []string{"X A"}}, "allow_headers[0]", "not a header name"},
		{cors.Options{AllowOrigins: []string{"https://a.example"}, AllowCredentials: true, ExposeHeaders: []string{"*"}}, "expose_headers[0]", "credentialed"},
		{cors.Options{AllowOrigins: []string{"*"}, MaxAge: units.Duration(1500e6)}, "max_age", "whole seconds"},
		{cors.Options{AllowOrigins: []string{"*"}, MaxAge: units.Duration(-1e9)}, "max_age", "whole seconds"},
		{cors.Options{Disabled: true, AllowOrigins: []string{"*"}}, "disabled", "no other key"},
	} {
		err := tc.o.Validate()
		var fe *cors.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("%+v: got %v, want %s: ...%s...", tc.o, err, tc.field, tc.msg)
		}
		if _, err := cors.New(tc.o); err == nil {
			t.Errorf("%+v: New accepted it", tc.o)
		}
	}
	if err := (cors.Options{AllowOrigins: []string{"https://*.example.com", "http://localhost:3000"}, AllowCredentials: true,
		ExposeHeaders: []string{"X-Total"}, MaxAge: units.Duration(7200e9)}).Validate(); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

// TestAnyOriginWithoutOrigin: a policy of "*" marks every answer, also one
// to a request without Origin (curl, a same-origin page, a prefetch): the
// answer does not say Vary: Origin, so a shared cache in front of the
// gateway may hand it to any origin, and it must then carry ACAO.
func TestAnyOriginWithoutOrigin(t *testing.T) {
	url, _ := serve(t, cors.Options{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"X-Total"}})
	resp := send(t, http.MethodGet, url)
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Expose-Headers") != "X-Total" ||
		strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("no Origin: %v, want ACAO * and Expose-Headers (an answer cacheable for every origin)", resp.Header)
	}
}

// TestHandlerWritesNothing: a handler that returns without writing (its
// answer an empty 200 from net/http) still gets the CORS headers.
func TestHandlerWritesNothing(t *testing.T) {
	c, err := cors.New(cors.Options{AllowOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) })))
	t.Cleanup(srv.Close)
	resp := send(t, http.MethodPost, srv.URL, "Origin", "https://app.example.com")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.Header.Get("Vary"), "Origin") || hits.Load() != 1 {
		t.Errorf("empty answer: %d %v (%d calls), want 200 with ACAO and Vary: Origin", resp.StatusCode, resp.Header, hits.Load())
	}
}

// TestInternationalOrigin: an origin written with a Unicode host matches
// what browsers send, its punycode (ASCII) serialisation.
func TestInternationalOrigin(t *testing.T) {
	for _, tc := range []struct{ pattern, origin, norm string }{
		{"https://bücher.example", "https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://*.Bücher.example", "https://shop.xn--bcher-kva.example", "https://*.xn--bcher-kva.example"},
	} {
		p, err := cors.ParseOrigin(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if !p.Match(tc.origin) || p.String() != tc.norm {
			t.Errorf("%s: matches %s %v, normal form %s; want true, %s", tc.pattern, tc.origin, p.Match(tc.origin), p, tc.norm)
		}
	}
	if err := (cors.Options{AllowOrigins: []string{"https://bü cher.example"}}).Validate(); err == nil {
		t.Error("a host with a space was accepted")
	}
}

// TestDisabled: a disabled policy is valid without origins and passes
// everything through, preflights included.
func TestDisabled(t *testing.T) {
	url, hits := serve(t, cors.Options{Disabled: true})
	resp := send(t, http.MethodOptions, url, "Origin", "https://a.example", "Access-Control-Request-Method", "PUT")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://upstream-says.example" || hits.Load() != 1 {
		t.Errorf("preflight: %d %v (%d calls), want the handler's answer", resp.StatusCode, resp.Header, hits.Load())
	}
}

// unwrapOnly is a caller's response writer wrapper that reaches the
// writer underneath only through Unwrap, as http.ResponseController
// allows (no Flush method of its own).
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestFlushThroughUnwrap: a streaming handler's flush reaches the client
// through the middleware when the writer it was given flushes only via
// Unwrap: the first chunk arrives while the handler still waits.
func TestFlushThroughUnwrap(t *testing.T) {
	c, err := cors.New(cors.Options{AllowOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		select { // the client has the first chunk, or gave up
		case <-read:
		case <-r.Context().Done():
		}
		io.WriteString(w, "second\n")
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(unwrapOnly{w}, r) }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a bound on a hang, not a timing assertion
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer head: %v (the flush did not reach the client)", err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(read)
	if err != nil || line != "first\n" || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("first chunk %q, %v; ACAO %q", line, err, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
