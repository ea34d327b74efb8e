package transform

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// front puts mw in front of a reverse proxy to a real loopback backend.
func front(t *testing.T, mw func(http.Handler) http.Handler, backend http.HandlerFunc) *httptest.Server {
	t.Helper()
	back := httptest.NewServer(backend)
	t.Cleanup(back.Close)
	u, _ := url.Parse(back.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	f := httptest.NewServer(mw(rp))
	t.Cleanup(f.Close)
	return f
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, srv *httptest.Server, path string, header ...string) answer {
	t.Helper()
	return do(t, http.MethodGet, srv, path, header...)
}

// do sends one request with header's name/value pairs and reads the answer.
func do(t *testing.T, method string, srv *httptest.Server, path string, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A bare transport: the client must not ask for gzip on its own.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func mobileWeb(t *testing.T) *Transformer {
	t.Helper()
	tr, err := New(Rules{
		Header:    "X-Client-Type",
		Query:     "client",
		UserAgent: DefaultUserAgentRules(),
		ClientTypes: []ClientType{
			{Name: "mobile", Pick: []Pick{{Path: "items", First: 2}}, Allow: []string{"id", "items[].id"}},
			{Name: "web"},
			{Name: "Partner", Deny: []string{"items[].secret"}, Wrap: "data"},
		},
		MaxBodySize: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func jsonBackend(body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("ETag", `"upstream"`)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		io.WriteString(w, body)
	}
}

func TestClientTypeSelection(t *testing.T) {
	tr := mobileWeb(t)
	const doc = `{"id":1,"items":[{"id":1,"secret":"s"},{"id":2},{"id":3}],"other":true}`
	srv := front(t, tr.Middleware, jsonBackend(doc))
	const (
		mobile  = `{"id":1,"items":[{"id":1},{"id":2}]}`
		partner = `{"data":{"id":1,"items":[{"id":1},{"id":2},{"id":3}],"other":true}}`
	)
	for _, tc := range []struct {
		name   string
		path   string
		header []string
		want   string
	}{
		{"header", "/", []string{"X-Client-Type", "mobile"}, mobile},
		{"header, any case", "/", []string{"X-Client-Type", " PARTNER "}, partner},
		{"query", "/?client=mobile", nil, mobile},
		{"header before query", "/?client=mobile", []string{"X-Client-Type", "web"}, doc},
		{"unknown header value falls through to the query", "/?client=partner", []string{"X-Client-Type", "tv"}, partner},
		{"user agent: iPhone", "/", []string{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}, mobile},
		{"user agent: Android app", "/", []string{"User-Agent", "okhttp/4.12 Android"}, mobile},
		{"user agent: desktop", "/", []string{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}, doc},
		{"nothing: untouched", "/", []string{"User-Agent", "curl/8.0"}, doc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, srv, tc.path, tc.header...)
			if a.code != 200 || a.body != tc.want {
				t.Fatalf("%d %s, want %s", a.code, a.body, tc.want)
			}
			if a.header.Get("Content-Length") != strconv.Itoa(len(tc.want)) {
				t.Fatalf("Content-Length %q for %d bytes", a.header.Get("Content-Length"), len(tc.want))
			}
			if got := a.header.Values("Vary"); strings.Join(got, ",") != "X-Client-Type,User-Agent" {
				t.Fatalf("Vary %q", got)
			}
			transformed := tc.want != doc
			if etag := a.header.Get("ETag"); (etag == "") != transformed {
				t.Fatalf("ETag %q on a transformed=%v answer", etag, transformed)
			}
		})
	}
	if got := tr.ClientType(httptest.NewRequest("GET", "/?client=partner", nil)); got != "Partner" {
		t.Fatalf("ClientType = %q", got)
	}
}

func TestDefaultClientType(t *testing.T) {
	tr, err := New(Rules{Default: "slim", ClientTypes: []ClientType{{Name: "slim", Allow: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := front(t, tr.Middleware, jsonBackend(`{"a":1,"b":2}`))
	if a := get(t, srv, "/"); a.body != `{"a":1}` || a.header.Get("Vary") != "" {
		t.Fatalf("%s Vary=%q", a.body, a.header.Get("Vary"))
	}
}

// Answers that are not successful JSON pass through untouched.
func TestUntouched(t *testing.T) {
	tr := mobileWeb(t)
	for _, tc := range []struct {
		name, ctype, encoding string
		status                int
	}{
		{"text", "text/plain", "", 200},
		{"html", "text/html", "", 200},
		{"no content type", "", "", 200},
		{"json error", "application/problem+json", "", 404},
		{"json 500", "application/json", "", 500},
		{"json redirect", "application/json", "", 302},
		{"json-ish type", "application/jsonx", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"id":1,"items":[{"id":1},{"id":2},{"id":3}]}`
			srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				w.Header().Set("Location", "/x")
				w.WriteHeader(tc.status)
				io.WriteString(w, body)
			})
			a := get(t, srv, "/", "X-Client-Type", "mobile")
			if a.code != tc.status || a.body != body {
				t.Fatalf("%d %s", a.code, a.body)
			}
		})
	}
	// +json types are JSON.
	srv := front(t, tr.Middleware, jsonBackend(`{"id":1,"x":2}`, "Content-Type", "application/vnd.api+json"))
	if a := get(t, srv, "/", "X-Client-Type", "mobile"); a.body != `{"id":1}` {
		t.Fatalf("+json: %s", a.body)
	}
}

// A non-JSON answer streams: each chunk reaches the client before the
// backend writes the next.
func TestStreamingNotJSON(t *testing.T) {
	tr := mobileWeb(t)
	next := make(chan struct{})
	srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, "data: "+strconv.Itoa(i)+"\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-time.After(5 * time.Second):
				return
			}
		}
	})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("X-Client-Type", "mobile")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		if err != nil || line != "data: "+strconv.Itoa(i)+"\n" {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		rd.ReadString('\n')
		next <- struct{}{}
	}
}

func TestSizeBound(t *testing.T) {
	tr := mobileWeb(t) // MaxBodySize 4096
	big := `{"id":1,"pad":"` + strings.Repeat("x", 5000) + `"}`
	for _, chunked := range []bool{false, true} {
		srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Set-Cookie", "s=1")
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			}
			for i := 0; i < len(big); i += 1000 {
				io.WriteString(w, big[i:min(i+1000, len(big))])
				w.(http.Flusher).Flush()
			}
		})
		a := get(t, srv, "/", "X-Client-Type", "mobile")
		var p struct{ Status int }
		if a.code != http.StatusBadGateway || json.Unmarshal([]byte(a.body), &p) != nil || p.Status != 502 ||
			a.header.Get("Content-Type") != "application/problem+json" || a.header.Get("Set-Cookie") != "" {
			t.Fatalf("chunked=%v: %d %v %s", chunked, a.code, a.header, a.body)
		}
		// The same answer for a client type with no steps streams through.
		if a := get(t, srv, "/", "X-Client-Type", "web"); a.code != 200 || a.body != big {
			t.Fatalf("web: %d, %d bytes", a.code, len(a.body))
		}
	}
	if _, err := tr.Apply("mobile", []byte(big)); err != ErrTooLarge {
		t.Fatalf("Apply: %v", err)
	}
}

// A client type with steps asks the upstream for an unencoded answer, and
// refuses an encoded one rather than pass it unshaped; a type without
// steps leaves Accept-Encoding and the answer alone.
func TestEncodedUpstream(t *testing.T) {
	tr := mobileWeb(t)
	srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Asked", r.Header.Get("Accept-Encoding"))
		if r.Header.Get("X-Misbehave") != "" || r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
		}
		io.WriteString(w, `{"id":1,"x":2}`) // not really gzip: nobody decodes it here
	})
	// Accept-Encoding set, so that the proxy's transport does not try to
	// decompress the "gzip" body itself.
	if a := get(t, srv, "/", "X-Client-Type", "mobile", "Accept-Encoding", "gzip"); a.code != 200 || a.body != `{"id":1}` || a.header.Get("X-Asked") != "identity" {
		t.Fatalf("mobile: %d %s asked %q", a.code, a.body, a.header.Get("X-Asked"))
	}
	if a := get(t, srv, "/", "X-Client-Type", "web", "Accept-Encoding", "gzip"); a.code != 200 || a.body != `{"id":1,"x":2}` ||
		a.header.Get("Content-Encoding") != "gzip" || a.header.Get("X-Asked") != "gzip" {
		t.Fatalf("web: %d %s %v", a.code, a.body, a.header)
	}
	if a := get(t, srv, "/", "X-Client-Type", "mobile", "X-Misbehave", "1", "Accept-Encoding", "gzip"); a.code != http.StatusBadGateway || a.header.Get("Content-Encoding") != "" {
		t.Fatalf("encoded anyway: %d %v %s", a.code, a.header, a.body)
	}
}

func TestInvalidJSON(t *testing.T) {
	tr := mobileWeb(t)
	srv := front(t, tr.Middleware, jsonBackend(`{"id":1,`))
	if a := get(t, srv, "/", "X-Client-Type", "mobile"); a.code != http.StatusBadGateway {
		t.Fatalf("%d %s", a.code, a.body)
	}
}

func TestApply(t *testing.T) {
	tr := mobileWeb(t)
	out, err := tr.Apply("MOBILE", []byte(`{"id":1,"x":2}`))
	if err != nil || string(out) != `{"id":1}` {
		t.Fatalf("%s %v", out, err)
	}
	in := []byte(`not json at all`)
	if out, err := tr.Apply("web", in); err != nil || string(out) != string(in) {
		t.Fatalf("no steps: %s %v", out, err)
	}
	if out, err := tr.Apply("", in); err != nil || string(out) != string(in) {
		t.Fatalf("no type: %s %v", out, err)
	}
}

// A Range request must not get around a client type's steps: the upstream
// would answer 206 with the unshaped bytes, which pass through (206 is not
// transformed). The shaped type asks for the whole answer and shapes it.
func TestRangeRequestShaped(t *testing.T) {
	tr := mobileWeb(t)
	const doc = `{"id":1,"items":[{"id":1,"secret":"s"},{"id":2},{"id":3}],"other":true}`
	srv := front(t, tr.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(doc))
	})
	for _, h := range [][]string{
		{"Range", "bytes=0-"},
		{"Range", "bytes=0-1000"},
		{"Range", "bytes=0-9", "If-Range", `"v1"`},
	} {
		a := get(t, srv, "/", append([]string{"X-Client-Type", "mobile"}, h...)...)
		if a.code != 200 || a.body != `{"id":1,"items":[{"id":1},{"id":2}]}` || a.header.Get("Content-Range") != "" {
			t.Fatalf("mobile %v: %d %q %v", h, a.code, a.body, a.header)
		}
	}
	// A client type with no steps keeps its ranges.
	if a := get(t, srv, "/", "X-Client-Type", "web", "Range", "bytes=0-5"); a.code != 206 || a.body != doc[:6] {
		t.Fatalf("web: %d %q", a.code, a.body)
	}
	// Where every client gets the one shaped type (nothing to choose
	// another by), a range was the way to the removed fields.
	only, err := New(Rules{Default: "public", ClientTypes: []ClientType{{Name: "public", Deny: []string{"items[].secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv = front(t, only.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(doc))
	})
	if a := get(t, srv, "/", "Range", "bytes=0-"); a.code != 200 || strings.Contains(a.body, "secret") {
		t.Fatalf("default type: %d %q", a.code, a.body)
	}
}
