package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/adapter/promtest"
)

const planHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: g}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: g}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Pods
    pods: {metric: {name: gatescale_requests_per_second}, target: {type: AverageValue, averageValue: "45"}}
`

// rangeQuery asks Prometheus's HTTP API directly (not through the code
// under test) and returns the points as [seconds since start, value text].
func rangeQuery(t *testing.T, base, q string, start, end time.Time, step time.Duration) [][2]string {
	t.Helper()
	v := url.Values{"query": {q}, "start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	resp, err := http.Get(base + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Values [][2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		t.Fatalf("query_range: %v %+v", err, r)
	}
	var out [][2]string
	for _, p := range r.Data.Result[0].Values {
		ts := p[0].(float64)
		out = append(out, [2]string{strconv.FormatFloat(ts-float64(start.Unix()), 'f', -1, 64), p[1].(string)})
	}
	return out
}

// A plan read from a Prometheus range query is the plan of the same
// points written to a CSV timeline. Prometheus scrapes, every second, a
// counter that grows at 20/s for 12 s and at 100/s after that; the HPA
// targets 45 per pod, so the plan goes from 1 to 3 replicas.
func TestPlanFromPrometheus(t *testing.T) {
	// The profile's clock starts at the first scrape.
	var first atomic.Int64
	addr := promtest.ServeMetrics(t, func(w io.Writer) {
		first.CompareAndSwap(0, time.Now().UnixNano())
		el := time.Since(time.Unix(0, first.Load())).Seconds()
		fmt.Fprintf(w, "# TYPE test_requests_total counter\ntest_requests_total %g\n", 20*math.Min(el, 12)+100*math.Max(el-12, 0))
	})
	p := promtest.Start(t, promtest.Options{Targets: []promtest.Target{{Addr: addr}}})
	p.WaitFor(t, `count_over_time(test_requests_total[1m]) >= 28`, 1, 60*time.Second)
	t0 := time.Unix(0, first.Load())

	const q = `sum(rate(test_requests_total[3s]))`
	// Whole seconds (RFC 3339 has no fraction here), the end two seconds
	// back so that no scrape lands in the range between the two runs.
	start := t0.Truncate(time.Second).Add(4 * time.Second)
	end := time.Now().Truncate(time.Second).Add(-2 * time.Second)
	dir := t.TempDir()
	hpa := filepath.Join(dir, "hpa.yaml")
	if err := os.WriteFile(hpa, []byte(planHPA), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"-hpa", hpa, "-sync", "1s", "-until", "40s"}

	var fromProm bytes.Buffer
	args := append([]string{"plan", "-prometheus", p.URL, "-query", q, "-start", start.UTC().Format(time.RFC3339), "-end", end.Format(time.RFC3339), "-step", "1s"}, common...)
	if err := run(context.Background(), args, &fromProm, io.Discard); err != nil {
		t.Fatal(err)
	}

	points := rangeQuery(t, p.URL, q, start, end, time.Second)
	var csv strings.Builder
	csv.WriteString("seconds,qps\n")
	for _, pt := range points {
		csv.WriteString(pt[0] + "," + pt[1] + "\n")
	}
	csvPath := filepath.Join(dir, "qps.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var fromCSV bytes.Buffer
	if err := run(context.Background(), append([]string{"plan", "-qps", csvPath}, common...), &fromCSV, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d points from %s to %s:\n%s", len(points), start.Format(time.RFC3339), end.Format(time.RFC3339), csv.String())
	if fromProm.String() != fromCSV.String() {
		t.Errorf("plan from Prometheus:\n%s\nplan from the same points as CSV:\n%s", fromProm.String(), fromCSV.String())
	}

	// The points are the known rates, and the plan follows them.
	at := func(sec float64) float64 {
		for _, pt := range points {
			if s, _ := strconv.ParseFloat(pt[0], 64); s == sec {
				v, _ := strconv.ParseFloat(pt[1], 64)
				return v
			}
		}
		t.Fatalf("no point at %vs", sec)
		return 0
	}
	if v := at(2); math.Abs(v-20) > 2 {
		t.Errorf("rate 6 s after the first scrape = %v, want 20", v)
	}
	last, _ := strconv.ParseFloat(points[len(points)-1][0], 64)
	if v := at(last); math.Abs(v-100) > 10 {
		t.Errorf("rate at the end = %v, want 100", v)
	}
	var replicas []string
	for _, l := range strings.Split(fromProm.String(), "\n")[1:] {
		if f := strings.Fields(l); len(f) >= 6 {
			replicas = append(replicas, f[5])
		}
	}
	if got := strings.Join(replicas, " "); !strings.HasPrefix(got, "1 ") || !strings.Contains(got, " 3") {
		t.Errorf("replicas over time %q: want 1, then 3 under 100 QPS\n%s", got, fromProm.String())
	}
}

// What plan refuses, and how it says so.
func TestPlanFromPrometheusErrors(t *testing.T) {
	dir := t.TempDir()
	hpa := filepath.Join(dir, "hpa.yaml")
	if err := os.WriteFile(hpa, []byte(planHPA), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-hpa", hpa}, "one of -qps and -prometheus"},
		{[]string{"-hpa", hpa, "-qps", "x.csv", "-prometheus", "http://127.0.0.1:1"}, "one of -qps and -prometheus"},
		{[]string{"-hpa", hpa, "-prometheus", "http://127.0.0.1:1"}, "-prometheus needs -query"},
		{[]string{"-hpa", hpa, "-prometheus", "http://127.0.0.1:1", "-query", "up", "-start", "yesterday"}, `-start: "yesterday" is not now, -DURATION, RFC 3339 or Unix seconds`},
		{[]string{"-hpa", hpa, "-prometheus", "http://127.0.0.1:1", "-query", "up", "-start", "-5m", "-end", "-10m"}, "is not after -start"},
		{[]string{"-hpa", hpa, "-prometheus", "http://127.0.0.1:1", "-query", "up", "-start", "-5m"}, "is unavailable"},
	} {
		err := run(context.Background(), append([]string{"plan"}, c.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}

	// Several series: the plan needs their sum.
	addr := promtest.ServeMetrics(t, func(w io.Writer) { fmt.Fprint(w, "qps{pod=\"a\"} 1\nqps{pod=\"b\"} 2\n") })
	p := promtest.Start(t, promtest.Options{Targets: []promtest.Target{{Addr: addr}}})
	p.WaitFor(t, `qps`, 2, 30*time.Second)
	err := run(context.Background(), []string{"plan", "-hpa", hpa, "-prometheus", p.URL, "-query", "qps", "-start", "-1m", "-step", "1s"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "returned 2 series") || !strings.Contains(err.Error(), "sum(...)") {
		t.Errorf("two series: %v", err)
	}
	err = run(context.Background(), []string{"plan", "-hpa", hpa, "-prometheus", p.URL, "-query", "nothing_here", "-start", "-1m", "-step", "1s"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "returned no data") {
		t.Errorf("no series: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"now":                  now,
		"-10m":                 now.Add(-10 * time.Minute),
		"-1h30m":               now.Add(-90 * time.Minute),
		"-2d":                  now.Add(-48 * time.Hour),
		"2026-11-28T11:00:00Z": now.Add(-time.Hour),
		"1795863600":           now.Add(-time.Hour),
		"1795863600.5":         now.Add(-time.Hour + 500*time.Millisecond),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-", "-10", "10m", "tomorrow"} {
		if _, err := parseTime(in, now); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
