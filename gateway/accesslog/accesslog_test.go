package accesslog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
)

// lines decodes every JSON log line in buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

func newLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// routed does what the route table does: put a fresh request.Info in the
// context before the route's middleware runs.
func routed(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), &request.Info{Route: name})))
	})
}

// proxyLike fills request.Info as the proxy does and answers status.
func proxyLike(status int, body string, errText string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := request.InfoFrom(r.Context())
		info.SetUpstream("users-svc")
		info.SetInstance("10.0.0.7:8080")
		info.AddAttempts(2)
		info.SetError(errText)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func TestLine(t *testing.T) {
	var buf bytes.Buffer
	h := requestid.Middleware(routed("users", Middleware(newLogger(&buf))(proxyLike(201, "created!", ""))))
	req := httptest.NewRequest("POST", "/users/7?token=s3cr3t", nil)
	req.RemoteAddr = "192.0.2.1:5555"
	req.Header.Set(requestid.Header, "req-1")
	h.ServeHTTP(httptest.NewRecorder(), req)

	ls := lines(t, &buf)
	if len(ls) != 1 {
		t.Fatalf("%d lines, want 1", len(ls))
	}
	l := ls[0]
	want := map[string]any{
		"level": "INFO", "msg": "request",
		"method": "POST", "path": "/users/7", "route": "users",
		"upstream": "users-svc", "instance": "10.0.0.7:8080", "attempts": 2.0,
		"status": 201.0, "bytes": 8.0, "request_id": "req-1", "remote": "192.0.2.1:5555",
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %#v, want %#v", k, l[k], v)
		}
	}
	if d, ok := l["duration"].(float64); !ok || d <= 0 || d > float64(time.Minute) {
		t.Errorf("duration = %#v, want a positive number of nanoseconds", l["duration"])
	}
	if _, ok := l["error"]; ok {
		t.Errorf("error logged without an error: %#v", l["error"])
	}
	raw, _ := json.Marshal(l)
	if strings.Contains(string(raw), "s3cr3t") {
		t.Errorf("query leaked into the log: %s", raw)
	}
}

func TestLevelsAndErrors(t *testing.T) {
	for _, c := range []struct {
		status  int
		errText string
		level   string
		logged  float64
	}{
		{200, "", "INFO", 200},
		{404, "", "INFO", 404},
		{502, "no healthy instances", "WARN", 502},
		{504, "upstream timeout", "WARN", 504},
		{502, outcome.ErrClientClosed, "INFO", 499},
	} {
		var buf bytes.Buffer
		h := routed("r", Middleware(newLogger(&buf))(proxyLike(c.status, "", c.errText)))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		ls := lines(t, &buf)
		if len(ls) != 1 {
			t.Fatalf("%d: %d lines", c.status, len(ls))
		}
		l := ls[0]
		if l["level"] != c.level || l["status"] != c.logged {
			t.Errorf("%d %q: level %v status %v, want %s %v", c.status, c.errText, l["level"], l["status"], c.level, c.logged)
		}
		if c.errText != "" && l["error"] != c.errText {
			t.Errorf("%d: error = %#v, want %q", c.status, l["error"], c.errText)
		}
	}
}

func TestUnroutedAndInnerRequestID(t *testing.T) {
	var buf bytes.Buffer
	// requestid runs inside the access log here: the id is read back from
	// the response header.
	h := Middleware(newLogger(&buf))(requestid.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	resp := httptest.NewRecorder()
	h.ServeHTTP(resp, httptest.NewRequest("GET", "/x", nil))
	l := lines(t, &buf)[0]
	if id := resp.Header().Get(requestid.Header); id == "" || l["request_id"] != id {
		t.Errorf("request_id = %#v, response header %q", l["request_id"], id)
	}
	if l["route"] != outcome.Unmatched || l["status"] != 200.0 || l["upstream"] != "" || l["attempts"] != 0.0 {
		t.Errorf("unrouted line: %v", l)
	}
}

func TestPanicLogged(t *testing.T) {
	var buf bytes.Buffer
	h := Middleware(newLogger(&buf))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
	ls := lines(t, &buf)
	if len(ls) != 1 || ls[0]["status"] != 500.0 || ls[0]["level"] != "WARN" {
		t.Errorf("panic lines: %v", ls)
	}
}

func TestDisabledLevel(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := Middleware(logger)(proxyLike(200, "", ""))
	h = routed("r", h)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if buf.Len() != 0 {
		t.Errorf("Info line written at Warn level: %s", buf.String())
	}
	routed("r", Middleware(logger)(proxyLike(503, "", ""))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(lines(t, &buf)) != 1 {
		t.Error("5xx not logged at Warn level")
	}
}

// The log and the metrics see the same status and bytes, whichever order
// they are stacked in, because they share one recorder.
func TestAgreesWithMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := Middleware(newLogger(&buf))
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "short and stout")
	})
	routed("a", log(m.Middleware(inner))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	routed("a", m.Middleware(log(inner))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for _, l := range lines(t, &buf) {
		if l["status"] != 418.0 || l["bytes"] != 15.0 {
			t.Errorf("line %v", l)
		}
	}
	n, err := testutil.GatherAndCount(reg, metrics.RequestsTotal)
	if err != nil || n != 1 {
		t.Fatalf("%d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == metrics.RequestsTotal {
			mt := mf.GetMetric()[0]
			if mt.GetCounter().GetValue() != 2 || mt.GetLabel()[0].GetValue() != "418" {
				t.Errorf("metrics: %v", mt)
			}
		}
	}
}

type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

func BenchmarkMiddleware(b *testing.B) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := Middleware(logger)(proxyLike(200, "ok", ""))
	req := httptest.NewRequest("GET", "/users/7", nil)
	req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
	req = req.WithContext(requestid.NewContext(req.Context(), "0af7651916cd43dd8448eb211c80319c"))
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
