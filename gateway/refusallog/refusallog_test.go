package refusallog_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/refusallog"
	"github.com/gatescale/gatescale/internal/logcapture"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"/fine/path", 64, "/fine/path"},
		{"/a b", 64, "/a b"},
		{"/log\r\nlevel=ERROR msg=forged", 64, "/log%0D%0Alevel=ERROR msg=forged"},
		{"/\x1b[31mred\x00\x7f", 64, "/%1B[31mred%00%7F"},
		{"/caf\xc3\xa9", 64, "/caf%C3%A9"},
		{"/" + strings.Repeat("a", 100), 16, "/aaaaaaaaaaaa..."},
		{"/aaaaaaa\nbbbb", 12, "/aaaaaaa..."}, // never half an escape
		{"/aaaaaaa\nbbbb", 13, "/aaaaaaa..."},
		{"/aaaaaaaaaa\n", 14, "/aaaaaaaaaa%0A"}, // fits exactly
		{strings.Repeat("\n", 1000), 10, "%0A%0A..."},
		{"/abcdefghijkl", 2, "/abcd..."}, // at least 8
	} {
		got := refusallog.Sanitize(tc.in, tc.limit)
		if got != tc.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
		if len(got) > max(tc.limit, 8) {
			t.Errorf("Sanitize(%q, %d) is %d bytes", tc.in, tc.limit, len(got))
		}
	}
}

// records decodes the JSON log lines written to b.
func records(t *testing.T, b *logcapture.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range b.Lines() {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// Beyond the budget lines are counted; the count comes back on a summary
// line once the bucket refills, without another refused request. A raw
// request (a library caller's, not net/http's parse) is sanitised too.
func TestBudgetAndSummary(t *testing.T) {
	var buf logcapture.Buffer
	l := refusallog.New(slog.New(slog.NewJSONHandler(&buf, nil)), refusallog.Options{PerSecond: 20, Burst: 3})
	defer l.Close()
	r := httptest.NewRequest("GET", "/x", nil)
	r.Method = "GE\nT"
	r.URL = &url.URL{Path: "/a\x1b[2Jb", RawQuery: "api_key=secret"}
	r.RemoteAddr = "203.0.113.9:4000"
	for range 100 {
		l.Log(r, "bad\r\nreason")
	}
	l.Log(httptest.NewRequest("GET", "/other", nil), "another reason") // its own bucket

	var recs []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs = records(t, &buf)
		if len(recs) == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(recs) != 5 {
		t.Fatalf("%d lines, want 3 + 1 other reason + 1 summary: %v", len(recs), recs)
	}
	for _, rec := range recs[:3] {
		if rec["msg"] != "request refused" || rec["reason"] != "bad%0D%0Areason" || rec["method"] != "GE%0AT" ||
			rec["path"] != "/a%1B%5B2Jb" || rec["client"] != "203.0.113.9" {
			t.Errorf("line %v", rec)
		}
	}
	if recs[3]["reason"] != "another reason" {
		t.Errorf("other reason: %v", recs[3])
	}
	if s := recs[4]; s["msg"] != "refused requests not logged" || s["suppressed"] != 97.0 || s["reason"] != "bad%0D%0Areason" {
		t.Errorf("summary %v", s)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Error("the query string was logged")
	}
}

// The count of a flood goes on the next line of the reason when one comes
// before the summary; Close writes what is still pending.
func TestSuppressedOnNextLineAndClose(t *testing.T) {
	var buf logcapture.Buffer
	l := refusallog.New(slog.New(slog.NewJSONHandler(&buf, nil)), refusallog.Options{PerSecond: 1, Burst: 1})
	r := httptest.NewRequest("GET", "/a%2Fb", nil)
	for range 10 {
		l.Log(r, "encoded slash")
	}
	l.Close()
	recs := records(t, &buf)
	if len(recs) != 2 || recs[0]["suppressed"] != nil || recs[1]["msg"] != "refused requests not logged" || recs[1]["suppressed"] != 9.0 {
		t.Errorf("lines %v", recs)
	}

	buf = logcapture.Buffer{}
	l = refusallog.New(slog.New(slog.NewJSONHandler(&buf, nil)), refusallog.Options{PerSecond: 5, Burst: 1})
	defer l.Close()
	for range 4 {
		l.Log(r, "encoded slash")
	}
	time.Sleep(250 * time.Millisecond) // a token comes back after 200ms
	l.Log(r, "encoded slash")
	recs = records(t, &buf)
	var total float64
	for _, rec := range recs {
		if s, ok := rec["suppressed"].(float64); ok {
			total += s
		}
	}
	// Either the summary (timer) or the next line carries the 3.
	if total != 3 || len(recs) < 2 {
		t.Errorf("lines %v", recs)
	}
}

func TestMiddlewareIgnoresServedRequests(t *testing.T) {
	var buf logcapture.Buffer
	l := refusallog.New(slog.New(slog.NewJSONHandler(&buf, nil)), refusallog.Options{})
	defer l.Close()
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if recs := records(t, &buf); len(recs) != 0 {
		t.Errorf("logged a request that was not refused: %v", recs)
	}
}
