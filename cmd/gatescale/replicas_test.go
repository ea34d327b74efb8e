package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/proctest"
)

// asProcess makes the test binary act as the gatescale command when a test
// starts it with this variable: the replicas below are real, separate
// processes running the real main code, without a second build.
const asProcess = "GATESCALE_TEST_AS_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(asProcess) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is one gatescale process of a test.
type process struct {
	*proctest.Process
	url, adminURL string
}

// startProcess runs `gatescale run args...` as a child process (this test
// binary, see TestMain) and waits until both listeners are up; it is
// stopped with SIGTERM when the test ends.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"run"}, args...)...)
	cmd.Env = append(append(os.Environ(), asProcess+"=1"), env...)
	p := proctest.Start(t, cmd)
	return &process{Process: p, url: "http://" + p.Addr, adminURL: "http://" + p.AdminAddr}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends one request and returns its status (0: transport error).
func call(method, url, secret, ifMatch, body string, header ...string) (int, string, http.Header) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// converge waits until check holds on every replica and returns, per
// replica, how long after start it first held.
func converge(t *testing.T, replicas []*process, start time.Time, what string, check func(p *process) bool) []time.Duration {
	t.Helper()
	out := make([]time.Duration, len(replicas))
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i, p := range replicas {
		wg.Go(func() {
			deadline := start.Add(10 * time.Second)
			for !check(p) {
				if time.Now().After(deadline) {
					failed.Store(true)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
			out[i] = time.Since(start)
		})
	}
	wg.Wait()
	if failed.Load() {
		t.Fatalf("%s: not in force on every replica within 10 s", what)
	}
	return out
}

func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

// Three gatescale processes share one Consul (and one Redis for shared
// limits). Changes made through one replica's admin API are in force on all
// three within 1 s at p99 — measured over 50 route changes under steady load
// with 0 failed requests; a consumer added through the API calls exactly
// what it was granted and its revoked key stops working everywhere; flow
// limits changed through the API apply on every replica, local and Redis; a
// fourth replica started later serves the current state before it listens;
// two writers on two replicas from one revision: one wins, one gets 412.
func TestThreeProcessesConverge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul, Redis and four gateway processes")
	}
	agent := consultest.Start(t)
	redis := redistest.Start(t)
	a := backend(t, "a")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
drain_period: 100ms
rate_limit:
  redis: {addr: %q}
auth:
  api_key: {header: X-API-Key}
upstreams:
  a: {instances: [%q]}
routes:
  - {name: stable, path_prefix: /stable, upstream: a}
`, redis.Addr, a)
	cfgPath := filepath.Join(dir, "gatescale.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-admin"
	tokens := `{"tokens":[{"name":"ops","sha256":"` + admin.HashToken(secret) + `","role":"admin"}]}`
	tokensPath := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokensPath, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONSUL_HTTP_ADDR=" + agent.Addr}
	args := []string{"-config", cfgPath, "-admin-store", "consul:gs/replicas", "-admin-tokens", tokensPath, "-watch", "0"}
	replicas := []*process{startProcess(t, env, args...)}
	// The first seeded the store; the others start from it.
	replicas = append(replicas, startProcess(t, env, args...), startProcess(t, env, args...))
	rev := 1
	write := func(method, path, body string) (int, string) {
		t.Helper()
		code, out, h := call(method, replicas[0].adminURL+path, secret, fmt.Sprintf("%q", fmt.Sprint(rev)), body)
		if code/100 == 2 {
			fmt.Sscanf(strings.Trim(h.Get("ETag"), `"`), "%d", &rev)
		}
		return code, out
	}

	// Steady load on every replica for the whole test.
	stop := make(chan struct{})
	var stopOnce sync.Once
	var sent, failed atomic.Int64
	var load sync.WaitGroup
	defer func() { stopOnce.Do(func() { close(stop) }); load.Wait() }()
	for _, p := range replicas {
		for range 2 {
			load.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					code, body, _ := call("GET", p.url+"/stable/x", "", "", "")
					sent.Add(1)
					if code != 200 && failed.Add(1) <= 5 {
						t.Logf("load: %d %s", code, body)
					}
				}
			})
		}
	}

	// 50 route changes through replica 0; each must serve on all three.
	var lat []time.Duration
	for i := range 50 {
		start := time.Now()
		if code, out := write("PUT", fmt.Sprintf("/admin/routes/r%d", i), fmt.Sprintf(`{"path_prefix":"/r%d","upstream":"a"}`, i)); code != 201 {
			t.Fatalf("PUT r%d: %d %s", i, code, out)
		}
		lat = append(lat, converge(t, replicas, start, fmt.Sprintf("route r%d", i), func(p *process) bool {
			code, _, _ := call("GET", fmt.Sprintf("%s/r%d/x", p.url, i), "", "", "")
			return code == 200
		})...)
	}
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	t.Logf("route change in force on all 3 processes: p50 %v, p99 %v, max %v over %d observations", p50, p99, slices.Max(lat), len(lat))
	// The 1 s goal is reported, not asserted (timing on a shared machine
	// is a measurement, not a pass/fail): converge fails only past 10 s.
	if p99 > time.Second {
		t.Logf("NOTE: p99 %v is over the 1 s goal", p99)
	}

	// Privileges: a consumer added through the API calls exactly the APIs
	// it was granted, on every replica; its revoked key stops working on
	// every replica.
	if code, out := write("PUT", "/admin/consumers/acme", `{"roles":["partner"]}`); code != 201 {
		t.Fatalf("PUT consumer: %d %s", code, out)
	}
	for _, r := range []struct{ name, who string }{{"granted", "acme"}, {"other", "someone-else"}} {
		body := fmt.Sprintf(`{"path_prefix":"/%s","upstream":"a","auth":{"methods":["api_key"]},"authorize":{"consumers":[%q]}}`, r.name, r.who)
		if code, out := write("PUT", "/admin/routes/"+r.name, body); code != 201 {
			t.Fatalf("PUT %s: %d %s", r.name, code, out)
		}
	}
	start := time.Now()
	code, out := write("POST", "/admin/consumers/acme/keys", `{"id":"acme-1"}`)
	if code != 201 {
		t.Fatalf("new key: %d %s", code, out)
	}
	var key admin.NewKey
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.Key == "" {
		t.Fatalf("new key body %s", out)
	}
	grant := converge(t, replicas, start, "the new key", func(p *process) bool {
		c, _, _ := call("GET", p.url+"/granted/x", "", "", "", "X-API-Key", key.Key)
		return c == 200
	})
	for _, p := range replicas {
		if c, _, _ := call("GET", p.url+"/other/x", "", "", "", "X-API-Key", key.Key); c != 403 {
			t.Fatalf("a route not granted answered %d", c)
		}
		if c, _, _ := call("GET", p.url+"/granted/x", "", "", ""); c != 401 {
			t.Fatalf("no key: %d", c)
		}
	}
	start = time.Now()
	if code, out := write("PUT", "/admin/consumers/acme", `{"roles":["partner"],"api_keys":[]}`); code != 200 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	revoke := converge(t, replicas, start, "the revoked key", func(p *process) bool {
		c, _, _ := call("GET", p.url+"/granted/x", "", "", "", "X-API-Key", key.Key)
		return c == 401
	})
	t.Logf("key granted on all 3 after %v, revoked on all 3 after %v (slowest replica)", slices.Max(grant), slices.Max(revoke))
	if slices.Max(grant) > time.Second || slices.Max(revoke) > time.Second {
		t.Logf("NOTE: key grant %v / revocation %v is over the 1 s goal", slices.Max(grant), slices.Max(revoke))
	}

	// Flow limits changed through the API: local buckets (per replica) and
	// Redis buckets (shared by all).
	if code, out := write("PUT", "/admin/routes/limited", `{"path_prefix":"/limited","upstream":"a","rate_limit":[{"name":"lim","rate":1000,"per":"1s"}]}`); code != 201 {
		t.Fatalf("limited: %d %s", code, out)
	}
	converge(t, replicas, time.Now(), "the limited route", func(p *process) bool {
		c, _, _ := call("GET", p.url+"/limited/x", "", "", "")
		return c == 200
	})
	start = time.Now()
	if code, out := write("PUT", "/admin/routes/limited", `{"path_prefix":"/limited","upstream":"a","rate_limit":[{"name":"lim","rate":2,"per":"1m","burst":2}]}`); code != 200 {
		t.Fatalf("tighten: %d %s", code, out)
	}
	local := converge(t, replicas, start, "the tightened local limit", func(p *process) bool {
		c, _, _ := call("GET", p.url+"/limited/x", "", "", "")
		return c == 429
	})
	t.Logf("local limit tightened on all 3 after %v", slices.Max(local))
	start = time.Now()
	if code, out := write("PUT", "/admin/routes/limited", `{"path_prefix":"/limited","upstream":"a","rate_limit":[{"name":"shared","rate":5,"per":"1m","burst":5,"store":"redis"}]}`); code != 200 {
		t.Fatalf("redis limit: %d %s", code, out)
	}
	// In force on a replica once its answers name the new policy.
	shared := converge(t, replicas, start, "the Redis limit", func(p *process) bool {
		_, _, h := call("GET", p.url+"/limited/x", "", "", "")
		return strings.Contains(h.Get("RateLimit-Policy"), `"shared"`)
	})
	t.Logf("Redis limit in force on all 3 after %v", slices.Max(shared))
	// The budget of 5 a minute is shared: round-robin over the replicas,
	// at most 5 requests pass in total (some were spent by converge).
	passed := 0
	for i := range 12 {
		if c, _, _ := call("GET", replicas[i%3].url+"/limited/x", "", "", ""); c == 200 {
			passed++
		}
	}
	if passed > 5 || passed == 12 {
		t.Fatalf("%d of 12 passed a shared limit of 5 a minute", passed)
	}

	// A fourth replica started later has the current state when it listens.
	late := startProcess(t, env, args...)
	if c, body, _ := call("GET", late.url+"/r49/x", "", "", ""); c != 200 {
		t.Fatalf("late replica, first request: %d %s", c, body)
	}
	if c, _, _ := call("GET", late.url+"/granted/x", "", "", "", "X-API-Key", key.Key); c != 401 {
		t.Fatalf("late replica accepts a revoked key: %d", c)
	}

	// Two writers on two replicas, from the same revision.
	base := fmt.Sprintf("%q", fmt.Sprint(rev))
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, p := range []*process{replicas[1], replicas[2]} {
		wg.Go(func() {
			codes[i], _, _ = call("PUT", fmt.Sprintf("%s/admin/routes/race%d", p.adminURL, i), secret, base, `{"path_prefix":"/race`+fmt.Sprint(i)+`","upstream":"a"}`)
		})
	}
	wg.Wait()
	slices.Sort(codes)
	if codes[0] != 201 || codes[1] != 412 {
		t.Fatalf("concurrent writers: %v, want one 201 and one 412", codes)
	}

	stopOnce.Do(func() { close(stop) })
	load.Wait()
	t.Logf("load: %d requests, %d failed", sent.Load(), failed.Load())
	if failed.Load() != 0 || sent.Load() == 0 {
		t.Fatalf("%d of %d requests failed during the changes", failed.Load(), sent.Load())
	}
}
