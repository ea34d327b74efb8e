package prom

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gatescale/gatescale/adapter/promtest"
)

// writeSeries exposes metrics×perMetric series: bench_m<i>_total with pod,
// route and code labels.
func writeSeries(metrics, perMetric int) func(io.Writer) {
	var b strings.Builder
	for m := 0; m < metrics; m++ {
		fmt.Fprintf(&b, "# TYPE bench_m%d_total counter\n", m)
		for i := 0; i < perMetric; i++ {
			fmt.Fprintf(&b, "bench_m%d_total{pod=\"pod-%d\",route=\"r%d\",code=\"%d\"} %d\n", m, i%50, i/50, 200+i%3, i)
		}
	}
	out := b.String()
	return func(w io.Writer) { _, _ = io.WriteString(w, out) }
}

func startWithSeries(t testing.TB, metrics, perMetric int) (*promtest.Server, *Client) {
	t.Helper()
	p := promtest.Start(t, promtest.Options{})
	addr := promtest.ServeMetrics(t, writeSeries(metrics, perMetric))
	p.SetTargets(t, promtest.Target{Addr: addr, Labels: map[string]string{"namespace": "bench"}})
	p.WaitFor(t, fmt.Sprintf(`count({__name__=~"bench_.*"}) >= %d`, metrics*perMetric), 1, 30*time.Second)
	c, err := New(Config{URL: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func TestQueryAndSeriesAgainstPrometheus(t *testing.T) {
	p, c := startWithSeries(t, 2, 100)
	ctx := context.Background()
	v, err := c.Query(ctx, `sum(bench_m1_total) by (code)`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 3 {
		t.Fatalf("result: %v", v)
	}
	var total float64
	for _, s := range vec {
		total += float64(s.Value)
	}
	if total != 99*100/2 {
		t.Errorf("sum of bench_m1_total = %v, want %v", total, 99*100/2)
	}

	var names []string
	n, err := c.Series(ctx, `{__name__=~"bench_m.*",namespace="bench"}`, time.Now().Add(-time.Minute), time.Now(), func(name string, labels []string) {
		if len(names) == 0 {
			names = append(names, name+strings.Join(labels, ","))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 200 {
		t.Errorf("series: %d, want 200", n)
	}
	if names[0] != "bench_m0_totalcode,instance,job,namespace,pod,route" {
		t.Errorf("first series shape: %q", names[0])
	}

	if _, err := c.Query(ctx, `sum(bench_m1_total) by (`, time.Now()); !IsBadQuery(err) || !strings.Contains(err.Error(), "refused the query sum(bench_m1_total) by (") {
		t.Errorf("bad query: %v", err)
	}
	if _, err := c.Series(ctx, `{`, time.Now(), time.Now(), func(string, []string) {}); !IsBadQuery(err) {
		t.Errorf("bad selector: %v", err)
	}

	// Points before the first scrape are absent; the last one, at end
	// (now: the data is there), is not.
	start := time.Now().Add(-2 * time.Second).Truncate(time.Millisecond)
	m, err := c.QueryRange(ctx, `sum(bench_m1_total)`, start, start.Add(2*time.Second), time.Second)
	if err != nil || len(m) != 1 || len(m[0].Values) == 0 {
		t.Fatalf("range query: %v %v", m, err)
	}
	if last := m[0].Values[len(m[0].Values)-1]; last.Value != 99*100/2 || last.Timestamp.Time().Sub(start) != 2*time.Second {
		t.Errorf("range query: last point %v", last)
	}
	if _, err := c.QueryRange(ctx, `sum(`, start, start.Add(time.Second), time.Second); !IsBadQuery(err) {
		t.Errorf("bad range query: %v", err)
	}

	p.Stop()
	_, err = c.Query(ctx, `up`, time.Now())
	if !IsUnavailable(err) || !strings.Contains(err.Error(), "prometheus at "+p.URL+" is unavailable") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("stopped prometheus: %v", err)
	}
}

// 10k series of 20 metrics reduce to 20 shapes; the time is logged for
// the record (the benchmark below measures it properly).
func TestDiscoverer10kSeries(t *testing.T) {
	_, c := startWithSeries(t, 20, 500)
	d := NewDiscoverer(c, DiscovererOptions{})
	d.SetSelectors([]string{`{__name__=~"bench_.*",namespace!=""}`, `{__name__="bench_m3_total"}`, `{__name__=~"bench_.*",namespace!=""}`})
	updates := 0
	d.OnUpdate(func(*Snapshot) { updates++ })
	s, err := d.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := s.Series[`{__name__=~"bench_.*",namespace!=""}`]
	if len(all) != 20 || s.Count[`{__name__=~"bench_.*",namespace!=""}`] != 10000 {
		t.Fatalf("shapes %d, series %d", len(all), s.Count[`{__name__=~"bench_.*",namespace!=""}`])
	}
	if got := strings.Join(all[0].Labels, ","); all[0].Name != "bench_m0_total" || got != "code,instance,job,namespace,pod,route" {
		t.Errorf("shape: %s %s", all[0].Name, got)
	}
	if len(s.Series[`{__name__="bench_m3_total"}`]) != 1 || len(s.Series) != 2 || updates != 1 {
		t.Errorf("selectors: %v, updates %d", s.Series, updates)
	}
	t.Logf("discovery of 10000 series (2 selectors, 10500 series sent) took %v", s.Duration)

	// Within the minimum gap an on-demand refresh reuses the snapshot.
	s2, _ := d.Refresh(context.Background())
	if s2 != s || updates != 1 {
		t.Errorf("refresh within the gap ran again")
	}
}

// A failing selector keeps its previous shapes, so metrics do not vanish
// when Prometheus has a bad moment; the failure is reported.
func TestDiscovererKeepsShapesOnError(t *testing.T) {
	var fail atomic.Bool
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Load() {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
			http.Error(w, "no token: "+got, http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		fmt.Fprintf(w, `{"status":"success","data":[{"__name__":"a_total","pod":"p","namespace":"n"},{"__name__":"a_total","pod":"q","namespace":"n"},{"namespace":"n","__name__":"b"}],"warnings":["w"]}`)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, BearerToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDiscoverer(c, DiscovererOptions{MinGap: time.Nanosecond})
	d.SetSelectors([]string{"{x}"})
	s, _ := d.Refresh(context.Background())
	if len(s.Series["{x}"]) != 2 || s.Count["{x}"] != 3 || len(s.Errors) != 0 {
		t.Fatalf("snapshot: %+v", s)
	}
	fail.Store(true)
	time.Sleep(time.Millisecond)
	s, _ = d.Refresh(context.Background())
	if len(s.Series["{x}"]) != 2 || s.Errors["{x}"] == nil || !IsUnavailable(s.Errors["{x}"]) || !strings.Contains(s.Errors["{x}"].Error(), "HTTP 502: upstream down") {
		t.Fatalf("after failure: %+v", s)
	}
	if calls.Load() != 2 {
		t.Errorf("calls: %d", calls.Load())
	}
}

func TestClientErrors(t *testing.T) {
	if _, err := New(Config{URL: "prometheus:9090"}); err == nil {
		t.Errorf("URL without scheme accepted")
	}
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := New(Config{URL: "http://" + addr, Timeout: time.Second})
	if _, err := c.Query(context.Background(), "up", time.Now()); !IsUnavailable(err) {
		t.Errorf("closed port: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Query(ctx, "up", time.Now()); IsUnavailable(err) || IsBadQuery(err) {
		t.Errorf("canceled: %v", err)
	}
}

// BenchmarkDiscovery10k measures one discovery run over 10,000 series of
// 20 metrics in a real Prometheus: listing, streaming decode and reduction
// to shapes.
func BenchmarkDiscovery10k(b *testing.B) {
	_, c := startWithSeries(b, 20, 500)
	d := NewDiscoverer(c, DiscovererOptions{MinGap: time.Nanosecond})
	d.SetSelectors([]string{`{__name__=~"bench_.*",namespace!=""}`})
	b.ReportAllocs()
	for b.Loop() {
		s, _ := d.run(context.Background()), 0
		if len(s.Series[`{__name__=~"bench_.*",namespace!=""}`]) != 20 {
			b.Fatal("wrong shapes")
		}
	}
	b.ReportMetric(10000, "series/op")
}

// Discovery looks back a fixed window, never shorter than the interval,
// so a series scraped less often than discovery runs is still found; the
// token file is read for the Authorization header.
func TestDiscoveryLookbackAndTokenFile(t *testing.T) {
	var start, end atomic.Value
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		start.Store(r.Form.Get("start"))
		end.Store(r.Form.Get("end"))
		auth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, `{"status":"success","data":[]}`)
	}))
	defer srv.Close()
	tokenFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokenFile, []byte("tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, BearerTokenFile: tokenFile})
	if err != nil {
		t.Fatal(err)
	}
	span := func() time.Duration {
		s, _ := strconv.ParseFloat(start.Load().(string), 64)
		e, _ := strconv.ParseFloat(end.Load().(string), 64)
		return time.Duration((e - s) * float64(time.Second)).Round(time.Second)
	}
	for _, tc := range []struct {
		o    DiscovererOptions
		want time.Duration
	}{
		{DiscovererOptions{Interval: time.Second}, 10 * time.Minute},
		{DiscovererOptions{Interval: time.Second, Lookback: 30 * time.Second}, 30 * time.Second},
		{DiscovererOptions{Interval: 20 * time.Minute, Lookback: time.Minute}, 20 * time.Minute},
	} {
		d := NewDiscoverer(c, tc.o)
		d.SetSelectors([]string{"{a}"})
		if _, err := d.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := span(); got != tc.want {
			t.Errorf("%+v: lookback %v, want %v", tc.o, got, tc.want)
		}
	}
	if got := auth.Load(); got != "Bearer tok-1" {
		t.Errorf("Authorization: %q", got)
	}
}

// Behind a proxy that allows only GET (405 for POST), series discovery
// falls back to GET as client_golang's queries do; prometheus-adapter
// lists series with GET by default.
func TestSeriesBehindAGetOnlyProxy(t *testing.T) {
	p, _ := startWithSeries(t, 1, 3)
	target, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var posts atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			posts.Add(1)
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	c, err := New(Config{URL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	n, err := c.Series(context.Background(), `{__name__=~"bench_.*",namespace="bench"}`, time.Now().Add(-time.Minute), time.Now(), func(name string, labels []string) {
		names = append(names, name)
	})
	if err != nil || n != 3 || len(names) != 3 || names[0] != "bench_m0_total" {
		t.Errorf("series through a GET-only proxy: %d %v %v", n, names, err)
	}
	if posts.Load() == 0 {
		t.Errorf("the client did not try POST first")
	}
	if _, err := c.Series(context.Background(), `{`, time.Now(), time.Now(), func(string, []string) {}); !IsBadQuery(err) {
		t.Errorf("bad selector through a GET-only proxy: %v", err)
	}
}
