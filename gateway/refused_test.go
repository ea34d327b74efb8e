package gateway_test

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

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/refusallog"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// Requests refused as malformed before routing are counted like any other,
// under the bounded route "(refused)" and a reason, and logged by the
// rate-limited refusal log instead of the access log: attacks show.
func TestRefusedRequestsCountedAndLogged(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if err := gw.Apply(t.Context(), gateway.Config{Routes: []route.Route{{Route: spec.Route{Name: "all", PathPrefix: "/"}, Handler: ok}}}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/files/a%2Fb", "/files/a%2fc", "/x;jsessionid=1", "/fine"} {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if want := 400; target != "/fine" && rec.Code != want {
			t.Errorf("%s: %d, want %d", target, rec.Code, want)
		}
	}
	if v := metricValue(t, reg, "gatescale_http_requests_total", "route", "(refused)", "code", "400"); v != 3 {
		t.Errorf("requests_total{route=(refused),code=400} = %v, want 3", v)
	}
	if v := metricValue(t, reg, "gatescale_http_refused_total", "reason", "it contains an encoded slash or backslash (%2F, %5C)"); v != 2 {
		t.Errorf("refused_total{encoded slash} = %v, want 2", v)
	}
	if v := metricValue(t, reg, "gatescale_http_refused_total", "reason", "it contains a semicolon (path parameters are refused)"); v != 1 {
		t.Errorf("refused_total{semicolon} = %v, want 1", v)
	}
	if n := strings.Count(logs.String(), `route=(refused)`); n != 0 {
		t.Errorf("%d access-log lines for refused requests, want 0:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), `msg="request refused" reason="it contains an encoded slash or backslash (%2F, %5C)" method=GET path=/files/a%2`); n != 2 {
		t.Errorf("%d refusal lines for the encoded slashes, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="request refused" reason="it contains a semicolon (path parameters are refused)" method=GET path="/x;jsessionid=1" client=192.0.2.1`) {
		t.Errorf("no refusal line for the semicolon:\n%s", logs.String())
	}
}

// A flood of 1000 malformed requests over real connections leaves at most
// the refusal log's budget of lines, the rest counted as suppressed (so
// lines + suppressed = 1000 once the gateway is closed), and every line is
// sanitised: the path bounded, no query string, no control character.
func TestRefusedFloodIsRateLimited(t *testing.T) {
	var logs logcapture.Buffer
	reg := prometheus.NewRegistry()
	budget := refusallog.Options{PerSecond: 2, Burst: 5, MaxPath: 64}
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithRefusalLog(budget),
		gateway.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if err := gw.Apply(t.Context(), gateway.Config{Routes: []route.Route{{Route: spec.Route{Name: "all", PathPrefix: "/"}, Handler: ok}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	const n = 1000
	long := "/files/" + strings.Repeat("%C3%A9", 200) + "/a%2Fb"
	start := time.Now()
	for i := range n {
		target := srv.URL + "/files/a%2Fb?api_key=secret-key"
		if i%2 == 1 {
			target = srv.URL + long
		}
		resp, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d", target, resp.StatusCode)
		}
	}
	elapsed := time.Since(start)
	gw.Close() // logs the counts still suppressed
	srv.Close()

	if v := metricValue(t, reg, "gatescale_http_refused_total", "reason", "it contains an encoded slash or backslash (%2F, %5C)"); v != n {
		t.Errorf("refused_total = %v, want %d", v, n)
	}
	var lines, suppressed, truncated int
	out := logs.String()
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		for _, c := range []byte(line) {
			if c < ' ' || c == 0x7f {
				t.Fatalf("control character %#x in %q", c, line)
			}
		}
		var rec struct {
			Msg, Path, Method, Client, Reason string
			Suppressed                        int
			PathBytes                         int `json:"path_bytes"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		switch rec.Msg {
		case "request refused":
			lines++
			if len(rec.Path) > budget.MaxPath || strings.Contains(line, "secret-key") || rec.Method != "GET" || rec.Client != "127.0.0.1" {
				t.Errorf("line not sanitised or incomplete: %s", line)
			}
			if rec.PathBytes > 0 {
				truncated++
				if rec.PathBytes != len(long) || !strings.HasSuffix(rec.Path, "...") {
					t.Errorf("long path: %s", line)
				}
			}
		case "refused requests not logged":
		default:
			t.Errorf("unexpected line %s", line)
		}
		suppressed += rec.Suppressed
	}
	max := budget.Burst + int(elapsed.Seconds()*budget.PerSecond) + 1
	t.Logf("%d requests in %v: %d lines (budget %d), %d suppressed", n, elapsed, lines, max, suppressed)
	if lines > max || lines < budget.Burst {
		t.Errorf("%d lines, want %d to %d", lines, budget.Burst, max)
	}
	if truncated == 0 {
		t.Error("no line of the long path (the burst alternates the two paths)")
	}
	if lines+suppressed != n {
		t.Errorf("%d lines + %d suppressed, want %d", lines, suppressed, n)
	}
}
