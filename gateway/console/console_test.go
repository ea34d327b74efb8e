package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/gateway/console"
)

func getJSON(t *testing.T, url, secret string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

func TestPageHeaders(t *testing.T) {
	e := newEnv(t, 200*time.Millisecond)
	for _, p := range []string{"/console/", "/console/js/app.js", "/console/style.css"} {
		resp, err := http.Get(e.admin + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != console.ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", p, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: missing nosniff or frame denial: %v", p, resp.Header)
		}
		if strings.HasSuffix(p, ".js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s: Content-Type %q (modules need a JavaScript type)", p, resp.Header.Get("Content-Type"))
		}
		// Nothing inline: the CSP would block it, and it would be a place for injection.
		s := string(body)
		if strings.Contains(s, "style=") || strings.Contains(s, "<style") || strings.Contains(s, "innerHTML") ||
			(strings.HasSuffix(p, "/") && strings.Contains(s, "<script>")) {
			t.Errorf("GET %s: inline script or style", p)
		}
	}
	if strings.Contains(readFile(t, e.admin+"/console/"), adminSecret) {
		t.Error("the page carries a secret")
	}
}

func readFile(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAPIAuthentication(t *testing.T) {
	e := newEnv(t, 200*time.Millisecond)
	for _, p := range []string{"session", "stats", "upstreams", "graph"} {
		if code := getJSON(t, e.admin+"/console/api/"+p, "", nil); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", p, code)
		}
		if code := getJSON(t, e.admin+"/console/api/"+p, "wrong", nil); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", p, code)
		}
	}
	for secret, want := range map[string]console.Session{adminSecret: {"alice", "admin"}, operatorSecret: {"olga", "operator"}, viewerSecret: {"vic", "viewer"}} {
		var s console.Session
		if code := getJSON(t, e.admin+"/console/api/session", secret, &s); code != 200 || s != want {
			t.Errorf("session: %d %+v, want %+v", code, s, want)
		}
	}
	if code := getJSON(t, e.admin+"/console/api/autoscaling", viewerSecret, nil); code != http.StatusNotFound {
		t.Errorf("autoscaling without Kubernetes: %d, want 404 (the view is hidden)", code)
	}
	if code := getJSON(t, e.admin+"/console/api/cluster", viewerSecret, nil); code != http.StatusNotFound {
		t.Errorf("cluster without a Prometheus URL: %d, want 404 (the view is hidden)", code)
	}
}

func TestStatsUpstreamsGraph(t *testing.T) {
	e := newEnv(t, 200*time.Millisecond)
	var stats console.Stats
	deadline := time.Now().Add(10 * time.Second)
	for {
		getJSON(t, e.admin+"/console/api/stats", viewerSecret, &stats)
		if n := len(stats.Samples); n >= 3 && stats.Samples[n-1].Routes["users"].QPS > 0 && stats.Samples[n-1].Routes["order-page › user"].QPS > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no traffic in the stats: %+v", stats)
		}
		time.Sleep(200 * time.Millisecond)
	}
	last := stats.Samples[len(stats.Samples)-1]
	// About 25 requests a second reach users (a quarter of ~100/s, plus the
	// composite's calls go to their own rows).
	if q := float64(last.Routes["users"].QPS); q < 5 || q > 200 {
		t.Errorf("users QPS %v, want about 50", q)
	}
	if p := float64(last.Routes["users"].P99); !(p > 0 && p < 2) {
		t.Errorf("users p99 %v s", p)
	}
	if len(last.Replicas) != 1 || last.Replicas[0].Row == nil || last.Replicas[0].Row.QPS <= 0 {
		t.Errorf("replicas %+v, want this one with traffic", last.Replicas)
	}
	var newer console.Stats
	getJSON(t, e.admin+"/console/api/stats?after="+itoa(last.Seq-1), viewerSecret, &newer)
	if len(newer.Samples) == 0 || newer.Samples[0].Seq != last.Seq {
		t.Errorf("after=%d gave %d samples", last.Seq-1, len(newer.Samples))
	}

	var ups []console.UpstreamView
	getJSON(t, e.admin+"/console/api/upstreams", viewerSecret, &ups)
	var names []string
	for _, u := range ups {
		names = append(names, u.Name)
		if len(u.Instances) != 1 || u.Instances[0].State != console.Healthy || u.Admitted != 1 {
			t.Errorf("upstream %s: %+v", u.Name, u)
		}
	}
	if !slices.Equal(names, []string{"catalog", "orders", "users"}) {
		t.Errorf("upstreams %v", names)
	}

	var graphs []console.Graph
	getJSON(t, e.admin+"/console/api/graph", viewerSecret, &graphs)
	i := slices.IndexFunc(graphs, func(g console.Graph) bool { return g.Route == "order-page" })
	if i < 0 {
		t.Fatalf("no graph of order-page in %+v", graphs)
	}
	g := graphs[i]
	var edges []string
	for _, ed := range g.Edges {
		edges = append(edges, ed.From+">"+ed.To)
		if ed.Stats == nil {
			t.Errorf("edge %s>%s has no stats under load", ed.From, ed.To)
		}
	}
	if want := []string{"route>call:order", "call:order>call:user", "route>call:catalog"}; !slices.Equal(edges, want) {
		t.Errorf("order-page edges %v, want %v", edges, want)
	}
	layers := map[string]int{}
	for _, n := range g.Nodes {
		layers[n.ID] = n.Layer
	}
	if layers["route"] != 0 || layers["call:order"] != 1 || layers["call:user"] != 2 || layers["call:catalog"] != 1 {
		t.Errorf("layers %v", layers)
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// With peers, each sample has one row per replica, computed from its own
// /metrics; a peer that cannot be read says why.
func TestPerReplica(t *testing.T) {
	peer := newEnv(t, 200*time.Millisecond)
	e := newEnvWith(t, 200*time.Millisecond, func(o *console.Options) { o.Peers = []string{peer.admin, "http://127.0.0.1:1"} })
	deadline := time.Now().Add(10 * time.Second)
	for {
		var stats console.Stats
		getJSON(t, e.admin+"/console/api/stats", viewerSecret, &stats)
		if n := len(stats.Samples); n > 0 {
			reps := stats.Samples[n-1].Replicas
			if len(reps) != 3 {
				t.Fatalf("replicas %+v, want local, the peer and the unreachable one", reps)
			}
			if reps[0].Name == "local" && reps[0].Row != nil && reps[0].Row.QPS > 0 &&
				reps[1].Name == peer.admin && reps[1].Row != nil && reps[1].Row.QPS > 0 && reps[1].Row.P99 > 0 && reps[1].Row.P99 < 1 &&
				reps[2].Row == nil && reps[2].Error != "" {
				t.Logf("replicas: local %.1f QPS p99 %.4fs, peer %.1f QPS p99 %.4fs, down: %s", reps[0].Row.QPS, reps[0].Row.P99, reps[1].Row.QPS, reps[1].Row.P99, reps[2].Error)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("replicas %+v", reps)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// With a Prometheus URL, the cluster view has every replica Prometheus
// scrapes, per API (a real Prometheus scraping two real gateways).
func TestClusterFromPrometheus(t *testing.T) {
	prom := promtest.Start(t, promtest.Options{ScrapeInterval: time.Second})
	peer := newEnv(t, time.Second)
	e := newEnvWith(t, time.Second, func(o *console.Options) { o.PrometheusURL = prom.URL })
	prom.SetTargets(t, promtest.Target{Addr: strings.TrimPrefix(e.admin, "http://")}, promtest.Target{Addr: strings.TrimPrefix(peer.admin, "http://")})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var c console.Cluster
		code := getJSON(t, e.admin+"/console/api/cluster", viewerSecret, &c)
		u := c.Routes["users"]
		if code == 200 && c.Instances == 2 && u.QPS > 10 && u.P99 > 0 { // two gateways under load
			t.Logf("cluster: %d instances, users %.1f QPS p99 %.4fs errors %.3f", c.Instances, u.QPS, u.P99, u.ErrorRate)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster view: %d %+v", code, c)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
