package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	adapterconfig "github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/adapter/provider"
)

const dashboardsDir = "../../manifests/grafana"

// expectedEmpty lists the panel queries that have no data outside a
// Kubernetes cluster, as "dashboard uid / panel title / refId", with why.
// Every other query must return data.
var expectedEmpty = map[string]string{
	"gatescale-gateway/Replicas/A":                                "kube_horizontalpodautoscaler_* come from kube-state-metrics, which needs a cluster",
	"gatescale-gateway/Replicas/B":                                "kube-state-metrics (HPA desired replicas)",
	"gatescale-gateway/Replicas/C":                                "kube-state-metrics (HPA max replicas)",
	"gatescale-gateway/Per-pod QPS the HPA reads vs its target/C": "the HPA's target comes from kube-state-metrics",
}

type panel struct {
	ID         int
	Type       string
	Title      string
	Datasource struct{ UID string }
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string
	}
	Panels []panel // of a collapsed row
}

type dashboard struct {
	UID        string
	Title      string
	Templating struct {
		List []struct {
			Name       string
			Type       string
			Definition string
			Query      any
		}
	}
	Panels []panel
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dashboardsDir, err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || out[d.UID].UID != "" {
			t.Errorf("%s: uid %q empty or used twice", f, d.UID)
		}
		out[d.UID] = d
	}
	return out
}

func flatPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

// TestDashboardsShape: ids unique, every panel on the ${datasource}
// variable, every graph with a query.
func TestDashboardsShape(t *testing.T) {
	for uid, d := range loadDashboards(t) {
		ids := map[int]bool{}
		for _, p := range flatPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", uid, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != "${datasource}" {
				t.Errorf("%s/%s: datasource %q, want ${datasource}", uid, p.Title, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s/%s: no query", uid, p.Title)
			}
		}
	}
	for key := range expectedEmpty {
		if !strings.HasPrefix(key, "gatescale-") {
			t.Errorf("expectedEmpty key %q", key)
		}
	}
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// TestDashboardQueriesAgainstRealPrometheus evaluates every panel's PromQL
// (and every variable's query) against a real Prometheus scraping, every
// second, a real gateway under load and an adapter answering metric
// requests. The load is shaped so every panel has something to show:
// a 5xx path, an instance that refuses connections (retries), a
// rate-limited route, a Redis-backed limit whose Redis is down (store
// errors), a Consul upstream whose agent is down (discovery stale), and a
// Prometheus that refuses some of the adapter's queries.
func TestDashboardQueriesAgainstRealPrometheus(t *testing.T) {
	promtest.Binary(t)
	// The Redis here is down on purpose; go-redis would log every dial.
	redis.SetLogger(quietRedis{})
	b1, b2 := startBackend(t), startBackend(t)
	g := startGateway(t, fmt.Sprintf(`consul: {address: %s}
rate_limit:
  redis: {addr: %s, timeout: 50ms, backoff: 200ms}
upstreams:
  users:
    instances: [%s, %s, %s]
    retry: {attempts: 3}
  inventory:
    discovery: consul
routes:
  - name: users
    path_prefix: /users
    upstream: users
  - name: limited
    path_prefix: /limited
    upstream: users
    rate_limit: [{rate: 2, per: 1s, burst: 2}]
  - name: shared
    path_prefix: /shared
    upstream: users
    rate_limit: [{rate: 1000, store: redis, failure_mode: open}]
  - name: inventory
    path_prefix: /inventory
    upstream: inventory
`, deadAddr(t), deadAddr(t), b1.Addr, b2.Addr, deadAddr(t)))
	ctx := t.Context()
	load(ctx, t, "http://"+g.Addr, 40, "/users/1", "/users/2", "/users/fail", "/limited/a", "/shared/a", "/users/3", "/inventory/a")

	p := promtest.Start(t, promtest.Options{
		Targets: []promtest.Target{{Addr: g.Admin, Labels: map[string]string{"namespace": "gatescale", "pod": "gatescale-0"}}},
	})
	adapterAddr := startAdapter(ctx, t, p.URL)
	p.SetTargets(t,
		promtest.Target{Addr: g.Admin, Labels: map[string]string{"namespace": "gatescale", "pod": "gatescale-0"}},
		promtest.Target{Addr: adapterAddr, Labels: map[string]string{"namespace": "gatescale", "pod": "gatescale-adapter-0"}},
	)

	dashboards := loadDashboards(t)
	// Rates need a few scrapes; give every series time to appear, then
	// fail on what is still missing.
	type query struct{ key, expr string }
	var queries []query
	vars := map[string]string{"route": ".*", "upstream": ".*", "hpa": "gatescale", "__rate_interval": "1m"}
	for uid, d := range dashboards {
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("%s: variable %s: only label_values(metric, label) is checked here: %q", uid, v.Name, v.Definition)
				continue
			}
			queries = append(queries, query{uid + "/$" + v.Name, fmt.Sprintf("count by (%s) (%s)", m[2], m[1])})
		}
		for _, pn := range flatPanels(d.Panels) {
			for _, tg := range pn.Targets {
				queries = append(queries, query{uid + "/" + pn.Title + "/" + tg.RefID, tg.Expr})
			}
		}
	}
	sort.Slice(queries, func(i, j int) bool { return queries[i].key < queries[j].key })
	vars["namespace"] = "gatescale"

	subst := func(expr string) string {
		return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(expr, func(s string) string {
			name := strings.Trim(s, "${}")
			if v, ok := vars[name]; ok {
				return v
			}
			t.Errorf("unknown variable %s in %q", s, expr)
			return s
		})
	}

	missing := map[string]string{}
	deadline := time.Now().Add(45 * time.Second)
	start := time.Now()
	for {
		for k := range missing {
			delete(missing, k)
		}
		for _, q := range queries {
			if _, ok := expectedEmpty[q.key]; ok {
				continue
			}
			v, err := promQuery(t, p.URL, subst(q.expr))
			if err != nil {
				t.Fatalf("%s: %q: %v", q.key, subst(q.expr), err)
			}
			if len(v) == 0 {
				missing[q.key] = subst(q.expr)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for k, e := range missing {
		t.Errorf("%s: no data after %v of load: %s", k, time.Since(start).Round(time.Second), e)
	}

	// The expected-empty ones must still be valid PromQL, and each entry
	// must name a real query (a renamed panel must not leave it behind).
	seen := map[string]bool{}
	for _, q := range queries {
		reason, ok := expectedEmpty[q.key]
		if !ok {
			continue
		}
		seen[q.key] = true
		v, err := promQuery(t, p.URL, subst(q.expr))
		if err != nil {
			t.Errorf("%s: %v", q.key, err)
		}
		t.Logf("expected empty outside a cluster: %s (%s): %d series", q.key, reason, len(v))
	}
	for k := range expectedEmpty {
		if !seen[k] {
			t.Errorf("expectedEmpty names %s, which no dashboard has", k)
		}
	}
	if !t.Failed() {
		t.Logf("%d queries of %d dashboards returned data after %v", len(queries)-len(expectedEmpty), len(dashboards), time.Since(start).Round(time.Second))
	}
}

// startAdapter runs gatescale-adapter's provider in the process (what
// `gatescale-adapter serve` wires, minus the Kubernetes API server) with the
// gateway preset, its own metrics on a loopback /metrics, and a loop of the
// HPA's request. Prometheus is reached through a proxy that refuses every
// fourth query and every fifth series listing with 503, so the error panels
// have data too. It returns the metrics address.
func startAdapter(ctx context.Context, t *testing.T, promURL string) string {
	t.Helper()
	target, err := url.Parse(promURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var queries, series atomic.Int64
	flaky := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/api/v1/query") && queries.Add(1)%4 == 0,
			strings.HasSuffix(r.URL.Path, "/api/v1/series") && series.Add(1)%5 == 0:
			http.Error(w, `{"status":"error","errorType":"unavailable","error":"test: refused"}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	fln := listen(t)
	go flaky.Serve(fln)
	t.Cleanup(func() { flaky.Close() })

	reg := prometheus.NewRegistry()
	m := provider.NewMetrics(reg)
	c, err := prom.New(prom.Config{URL: "http://" + fln.Addr().String(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{Interval: time.Second, Lookback: time.Minute, MinGap: 500 * time.Millisecond})
	disc.Observe = m.ObserveDiscovery
	p, err := provider.New(adapterconfig.GatewayPreset(time.Minute), provider.Options{
		Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper(), Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { disc.Run(ctx); done <- struct{}{} }()
	go func() {
		defer func() { done <- struct{}{} }()
		info := cmprovider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Metric: adapterconfig.GatewayRequestsPerSecond, Namespaced: true}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, _ = p.GetMetricByName(ctx, types.NamespacedName{Namespace: "gatescale", Name: "gatescale-0"}, info, labels.Everything())
		}
	}()

	mln := listen(t)
	msrv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go msrv.Serve(mln)
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		msrv.Close()
	})
	return mln.Addr().String()
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
