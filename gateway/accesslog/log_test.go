package accesslog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
	"github.com/gatescale/gatescale/gateway/units"
	"github.com/gatescale/gatescale/internal/logcapture"
)

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newLog(t testing.TB, o Options) *Log {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func serve(h http.Handler, method, target string, mod ...func(*http.Request)) {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "192.0.2.1:5555"
	for _, m := range mod {
		m(req)
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
}

// The JSON format with the default fields says what Middleware says.
func TestLogJSONMatchesMiddleware(t *testing.T) {
	var buf logcapture.Buffer
	l := newLog(t, Options{Writer: &buf})
	var old bytes.Buffer
	for _, mw := range []func(http.Handler) http.Handler{l.Middleware, Middleware(newLogger(&old))} {
		h := requestid.Middleware(routed("users", mw(proxyLike(502, "bad", "no healthy instances"))))
		serve(h, "POST", "/users/7?token=s3cr3t", func(r *http.Request) { r.Header.Set(requestid.Header, "req-1") })
	}
	got := buf.Lines()
	if len(got) != 1 {
		t.Fatalf("%d lines", len(got))
	}
	var mine map[string]any
	if err := json.Unmarshal([]byte(got[0]), &mine); err != nil {
		t.Fatalf("%v: %s", err, got[0])
	}
	ref := lines(t, &old)[0]
	for k, v := range ref {
		if k == "time" || k == "duration" {
			continue
		}
		if mine[k] != v {
			t.Errorf("%s = %#v, slog middleware wrote %#v", k, mine[k], v)
		}
	}
	if len(mine) != len(ref) {
		t.Errorf("keys differ:\n%v\n%v", mine, ref)
	}
	if _, err := time.Parse(time.RFC3339Nano, mine["time"].(string)); err != nil {
		t.Error(err)
	}
	if d, ok := mine["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration %#v", mine["duration"])
	}
	if strings.Contains(got[0], "s3cr3t") {
		t.Errorf("query leaked: %s", got[0])
	}
}

func TestFormats(t *testing.T) {
	ts := `\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}`
	for _, c := range []struct {
		o    Options
		want string // a regexp for the whole line
	}{
		{Options{Format: FormatCommon}, `^203\.0\.113\.9 - - \[` + ts + `\] "GET /a\\"b HTTP/1\.1" 201 7$`},
		{Options{Format: FormatCombined}, `^203\.0\.113\.9 - - \[` + ts + `\] "GET /a\\"b HTTP/1\.1" 201 7 "https://ref\.example/" "curl/8 \\"x\\"\\x0a"$`},
		{Options{Format: FormatText, Fields: []string{KeyStatus, KeyPath, KeyUserAgent, KeyDuration, KeyUpstream}},
			`^time=\S+ level=INFO msg=request status=201 path="/a\\"b" user_agent="curl/8 \\"x\\"\\n" duration=[0-9.]+[µnm]?s upstream=users-svc$`},
		{Options{Format: FormatJSON, Fields: []string{KeyClient, KeyHost, KeyProto, KeyReferer, KeyRoute}},
			`^\{"time":"[^"]+","level":"INFO","msg":"request","client":"203\.0\.113\.9","host":"example\.com","proto":"HTTP/1\.1","referer":"https://ref\.example/","route":"r"\}$`},
	} {
		var buf logcapture.Buffer
		c.o.Writer = &buf
		l := newLog(t, c.o)
		h := routedFrom("r", "203.0.113.9", l.Middleware(proxyLike(201, "created", "")))
		serve(h, "GET", `/a"b?q=1`, func(r *http.Request) {
			r.Header.Set("Referer", "https://ref.example/")
			r.Header.Set("User-Agent", "curl/8 \"x\"\n")
		})
		got := buf.Lines()
		if len(got) != 1 || !regexp.MustCompile(c.want).MatchString(got[0]) {
			t.Errorf("%s: got %q\nwant %s", c.o.Format, got, c.want)
		}
	}
}

// routedFrom is routed with the client the table would decide.
func routedFrom(name, client string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := request.NewInfo(name, "", request.Client{Host: client})
		h.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), info)))
	})
}

func TestExcludeAndDisabled(t *testing.T) {
	var buf logcapture.Buffer
	l := newLog(t, Options{Writer: &buf, ExcludePaths: []string{"/healthz", "/internal/*"}})
	h := l.Middleware(proxyLike(200, "", ""))
	h = routed("r", h)
	for _, p := range []string{"/healthz", "/healthz/x", "/internal/", "/internal/a/b", "/internalx", "/ok"} {
		serve(h, "GET", p)
	}
	var paths []string
	for _, line := range buf.Lines() {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		paths = append(paths, m["path"].(string))
	}
	if want := []string{"/healthz/x", "/internalx", "/ok"}; !slices.Equal(paths, want) {
		t.Errorf("logged %v, want %v", paths, want)
	}
	if err := l.Apply(Options{Writer: &buf, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/ok")
	if n := len(buf.Lines()); n != 3 {
		t.Errorf("disabled log wrote: %d lines", n)
	}
}

func TestSampling(t *testing.T) {
	zero, half := 0.0, 0.5
	var buf logcapture.Buffer
	l := newLog(t, Options{Writer: &buf, SampleRatio: &zero})
	ok := routed("r", l.Middleware(proxyLike(200, "", "")))
	bad := routed("r", l.Middleware(proxyLike(503, "", "no healthy instances")))
	for range 200 {
		serve(ok, "GET", "/")
	}
	serve(bad, "GET", "/")
	if got := buf.Lines(); len(got) != 1 || !strings.Contains(got[0], `"status":503`) {
		t.Fatalf("ratio 0: %v, want only the 503", got)
	}
	if err := l.Apply(Options{Writer: &buf, SampleRatio: &half}); err != nil {
		t.Fatal(err)
	}
	for range 2000 {
		serve(ok, "GET", "/")
	}
	// Binomial(2000, 0.5): 1000 ± 22 (1 sd); 850..1150 fails once in ~10^11.
	if n := len(buf.Lines()) - 1; n < 850 || n > 1150 {
		t.Errorf("ratio 0.5 logged %d of 2000", n)
	}
}

func TestValidate(t *testing.T) {
	bad, over := -0.1, 1.5
	err := Options{
		Format:       "xml",
		Fields:       []string{"status", "nope", "status"},
		SampleRatio:  &bad,
		ExcludePaths: []string{"healthz", "/a*b*", "/ok*"},
		Output:       " x",
	}.Validate()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%T %v", e, e)
		}
		got = append(got, fe.Field)
	}
	want := []string{"format", "fields[1]", "fields[2]", "sample_ratio", "exclude_paths[0]", "exclude_paths[1]", "output"}
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v\n%v", got, want, err)
	}
	if err := (Options{Format: FormatCommon, Fields: []string{"status"}}).Validate(); err == nil || !strings.Contains(err.Error(), "fields: do not apply to format common") {
		t.Errorf("err = %v", err)
	}
	if err := (Options{SampleRatio: &over}).Validate(); err == nil {
		t.Error("ratio 1.5 accepted")
	}
	if err := (Options{Format: FormatText, Fields: AllFields, ExcludePaths: []string{"/", "/x*"}, Output: "/var/log/a.log"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestOutputCannotOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "access.log")
	_, err := New(Options{Output: path})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "output" || !strings.Contains(fe.Message, path) {
		t.Fatalf("err = %v", err)
	}
	// A refused revision leaves the one in force untouched.
	var buf logcapture.Buffer
	l := newLog(t, Options{Writer: &buf})
	if err := l.Apply(Options{Output: path, Format: FormatCommon}); err == nil {
		t.Fatal("no error")
	}
	serve(routed("r", l.Middleware(proxyLike(200, "", ""))), "GET", "/")
	if got := buf.Lines(); len(got) != 1 || !strings.HasPrefix(got[0], "{") {
		t.Errorf("lines %v", got)
	}
}

// load sends requests through h from several goroutines until stop is
// closed, and returns how many it sent.
func load(h http.Handler, stop <-chan struct{}) func() int {
	var n atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				serve(h, "GET", "/g"+string(rune('a'+g)))
				n.Add(1)
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	return func() int { wg.Wait(); return int(n.Load()) }
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return splitLines(string(b))
}

// The logrotate dance: rename the file, reopen; the lines written before
// the reopen are in the renamed file, those after in a new file of the
// original name, and none is lost or torn, under concurrent requests;
// buffered too.
func TestReopenAfterRename(t *testing.T) {
	t.Run("unbuffered", func(t *testing.T) { testReopenAfterRename(t, Options{}) })
	t.Run("buffered", func(t *testing.T) {
		testReopenAfterRename(t, Options{Buffer: 4 << 10, FlushInterval: units.Duration(10 * time.Millisecond)})
	})
}

func testReopenAfterRename(t *testing.T, o Options) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	o.Output = path
	l := newLog(t, o)
	h := routed("r", l.Middleware(proxyLike(200, "", "")))

	stop := make(chan struct{})
	wait := load(h, stop)
	waitLines(t, path, 100)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // lines keep going to the renamed file
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	waitLines(t, path, 100)
	close(stop)
	sent := wait()
	l.Flush()

	before, after := readLines(t, path+".1"), readLines(t, path)
	if len(before)+len(after) != sent {
		t.Errorf("%d + %d lines for %d requests", len(before), len(after), sent)
	}
	for _, line := range append(before, after...) {
		if !json.Valid([]byte(line)) {
			t.Fatalf("torn line %q", line)
		}
	}
	// After the reopen nothing more goes to the renamed file.
	serve(h, "GET", "/last")
	l.Flush()
	if got := readLines(t, path+".1"); len(got) != len(before) {
		t.Errorf("renamed file grew after the reopen")
	}
	if got := readLines(t, path); !strings.Contains(got[len(got)-1], `"/last"`) {
		t.Errorf("last line %q", got[len(got)-1])
	}
}

func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.Count(b, []byte("\n")) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: fewer than %d lines after 10s", path, n)
}

// ReopenOn reopens on a real SIGHUP sent to the process.
func TestReopenOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l := newLog(t, Options{Output: path, Format: FormatCommon})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 1)
	l.ReopenOn(ctx, func(err error) { errs <- err })
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	serve(h, "GET", "/one")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new file 10s after SIGHUP")
		}
		time.Sleep(5 * time.Millisecond)
	}
	serve(h, "GET", "/two")
	if a, b := readLines(t, path+".1"), readLines(t, path); len(a) != 1 || !strings.Contains(a[0], "/one") ||
		len(b) != 1 || !strings.Contains(b[0], "/two") {
		t.Errorf("old %q, new %q", a, b)
	}
	select {
	case err := <-errs:
		t.Error(err)
	default:
	}
}

// A revision applies whole and at once under load: every line is entirely
// in one revision's format and fields, a change of output loses nothing,
// and requests after Apply returns use the new options.
func TestApplyUnderLoad(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	l := newLog(t, Options{Output: a, Fields: []string{KeyPath, KeyStatus}})
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	stop := make(chan struct{})
	wait := load(h, stop)
	revisions := []Options{
		{Output: a, Format: FormatCommon},
		{Output: a, Format: FormatText, Fields: []string{KeyMethod, KeyRoute}},
		{Output: b, Fields: []string{KeyPath, KeyStatus}},
		{Output: b, ExcludePaths: []string{"/ga"}},
	}
	for _, o := range revisions {
		time.Sleep(30 * time.Millisecond)
		if err := l.Apply(o); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	sent := wait()

	jsonPS := regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"request","path":"/g[a-d]","status":200\}$`)
	common := regexp.MustCompile(`^192\.0\.2\.1 - - \[[^]]+\] "GET /g[a-d] HTTP/1\.1" 200 -$`)
	text := regexp.MustCompile(`^time=\S+ level=INFO msg=request method=GET route=r$`)
	full := regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"request","method":"GET","path":"/g[b-d]","route":"r",.*"status":200,`)
	all := append(readLines(t, a), readLines(t, b)...)
	seen := map[string]int{}
	for _, line := range all {
		switch {
		case jsonPS.MatchString(line):
			seen["json"]++
		case common.MatchString(line):
			seen["common"]++
		case text.MatchString(line):
			seen["text"]++
		case full.MatchString(line):
			seen["full"]++
		default:
			t.Fatalf("line of no single revision: %q", line)
		}
	}
	for _, k := range []string{"json", "common", "text", "full"} {
		if seen[k] == 0 {
			t.Errorf("no %s lines: %v", k, seen)
		}
	}
	// Every request is logged except /ga under the last revision.
	excluded := sent - len(all)
	if excluded <= 0 || excluded >= sent/2 {
		t.Errorf("%d lines for %d requests", len(all), sent)
	}
	if strings.Contains(strings.Join(readLines(t, b)[len(readLines(t, b))-5:], "\n"), `"/ga"`) {
		t.Error("/ga logged after it was excluded")
	}
	if got := l.Options(); !slices.Equal(got.ExcludePaths, []string{"/ga"}) {
		t.Errorf("Options() = %+v", got)
	}
}

// FuzzLine: whatever a client sends, a JSON line is one valid JSON object
// that gives the path back, and a combined line is one line.
func FuzzLine(f *testing.F) {
	f.Add("/users/7", "curl/8")
	f.Add("/\"\\\n\x00\xff\u2028", "a\"b\\c\x7f")
	f.Fuzz(func(t *testing.T, path, ua string) {
		var buf logcapture.Buffer
		l, err := New(Options{Writer: &buf, Fields: AllFields})
		if err != nil {
			t.Fatal(err)
		}
		r := (&http.Request{Method: "GET", URL: &url.URL{Path: path}, Header: http.Header{"User-Agent": {ua}}, Proto: "HTTP/1.1", RemoteAddr: "x"}).WithContext(context.Background())
		rec := httptest.NewRecorder()
		l.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
		if err := l.Apply(Options{Writer: &buf, Format: FormatCombined}); err != nil {
			t.Fatal(err)
		}
		l.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
		got := buf.Lines()
		if len(got) != 2 {
			t.Fatalf("%d lines: %q", len(got), got)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(got[0]), &m); err != nil {
			t.Fatalf("%v: %q", err, got[0])
		}
		// encoding/json's reading of the path: each invalid byte is U+FFFD.
		var want string
		wb, _ := json.Marshal(path)
		_ = json.Unmarshal(wb, &want)
		if m["path"] != want {
			t.Errorf("path %q, want %q", m["path"], want)
		}
		if unescapedQuotes(got[1]) != 6 {
			t.Errorf("unbalanced quotes: %q", got[1])
		}
	})
}

// unescapedQuotes counts the quotes of s that a backslash does not escape.
func unescapedQuotes(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			n++
		}
	}
	return n
}

func benchLog(b *testing.B, o Options, path string) {
	if o.Writer == nil && o.Output == "" {
		o.Writer = io.Discard
	}
	l, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	h := l.Middleware(proxyLike(200, "ok", ""))
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
	req = req.WithContext(requestid.NewContext(req.Context(), "0af7651916cd43dd8448eb211c80319c"))
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkLog: the per-request cost of each setting; compare with
// BenchmarkMiddleware (the slog middleware).
func BenchmarkLog(b *testing.B) {
	zero := 0.0
	b.Run("json", func(b *testing.B) { benchLog(b, Options{}, "/users/7") })
	b.Run("text", func(b *testing.B) { benchLog(b, Options{Format: FormatText}, "/users/7") })
	b.Run("combined", func(b *testing.B) { benchLog(b, Options{Format: FormatCombined}, "/users/7") })
	b.Run("sampled-out", func(b *testing.B) { benchLog(b, Options{SampleRatio: &zero}, "/users/7") })
	b.Run("excluded", func(b *testing.B) { benchLog(b, Options{ExcludePaths: []string{"/healthz", "/users/*"}}, "/users/7") })
	b.Run("disabled", func(b *testing.B) { benchLog(b, Options{Disabled: true}, "/users/7") })
}

// json to a bufio.Writer over a file measures the write path too.
func BenchmarkLogFile(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "a.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	benchLog(b, Options{Writer: w}, "/users/7")
}

// The access log adds no allocation to a request that already has the
// metrics' recorder (as in the gateway): not when off or excluded, and not
// when it writes a line either (pooled buffers, no slog records).
func TestNoAllocations(t *testing.T) {
	zero := 0.0
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	req := httptest.NewRequest("GET", "/users/7", nil)
	req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
	req = req.WithContext(requestid.NewContext(req.Context(), "0af7651916cd43dd8448eb211c80319c"))
	w := outcome.Wrap(nopWriter{h: http.Header{}})
	base := testing.AllocsPerRun(200, func() { inner.ServeHTTP(w, req) })
	for name, o := range map[string]Options{
		"disabled":    {Disabled: true},
		"excluded":    {ExcludePaths: []string{"/healthz", "/users/*"}},
		"sampled-out": {SampleRatio: &zero},
		"json":        {Fields: AllFields},
		"text":        {Format: FormatText, Fields: AllFields},
		"combined":    {Format: FormatCombined},
	} {
		o.Writer = io.Discard
		l := newLog(t, o)
		h := l.Middleware(inner)
		if got := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) }); got != base {
			t.Errorf("%s: %v allocations per request, the handler alone %v", name, got, base)
		}
	}
}

// A gRPC call answers HTTP 200 whatever happened: its grpc-status (a
// trailer, or a header of a trailers-only answer) is logged, and a server
// fault is a WARN line that sampling never drops.
func TestGRPCStatus(t *testing.T) {
	zero := 0.0
	var buf logcapture.Buffer
	l := newLog(t, Options{Writer: &buf, SampleRatio: &zero})
	grpc := func(header string, code string) http.Handler {
		return routed("g", l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			if header == "trailer" {
				w.WriteHeader(200)
				w.Header().Set(http.TrailerPrefix+"Grpc-Status", code)
				return
			}
			w.Header().Set("Grpc-Status", code)
			w.WriteHeader(200)
		})))
	}
	serve(grpc("trailer", "14"), "POST", "/pkg.Svc/Unavailable")
	serve(grpc("header", "13"), "POST", "/pkg.Svc/Internal")
	serve(grpc("trailer", "5"), "POST", "/pkg.Svc/NotFound") // the caller's problem: sampled out
	serve(grpc("trailer", "0"), "POST", "/pkg.Svc/OK")
	got := buf.Lines()
	if len(got) != 2 {
		t.Fatalf("%d lines: %q", len(got), got)
	}
	for i, want := range []float64{14, 13} {
		var m map[string]any
		_ = json.Unmarshal([]byte(got[i]), &m)
		if m["level"] != "WARN" || m["grpc_status"] != want || m["status"] != 200.0 {
			t.Errorf("line %d: %v", i, m)
		}
	}
	if err := l.Apply(Options{Writer: &buf}); err != nil {
		t.Fatal(err)
	}
	serve(grpc("trailer", "5"), "POST", "/pkg.Svc/NotFound")
	serve(routed("h", l.Middleware(proxyLike(200, "", ""))), "GET", "/plain")
	got = buf.Lines()[2:]
	if len(got) != 2 || !strings.Contains(got[0], `"level":"INFO"`) || !strings.HasSuffix(got[0], `"grpc_status":5}`) ||
		strings.Contains(got[1], "grpc_status") {
		t.Errorf("lines %q", got)
	}
}

// A file output written line by line, and through a buffer: the buffer
// saves a write system call per request.
func BenchmarkLogFileOutput(b *testing.B) {
	for _, c := range []struct {
		name   string
		buffer units.Size
	}{{"unbuffered", 0}, {"buffer-64KiB", 64 << 10}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "a.log")
			benchLog(b, Options{Output: path, Buffer: c.buffer}, "/users/7")
		})
	}
}
