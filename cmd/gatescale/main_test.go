package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/logcapture"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

func backend(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// served is serve (`gatescale run`) running in the test's process.
type served struct {
	url  string             // the proxy listener: http://host:port
	addr string             // its host:port
	logs *logcapture.Buffer // what serve logged
	done chan error
	stop context.CancelFunc
}

// startServe runs serve with args and waits until it listens. End it with
// end (as SIGTERM would); if the test ends first, it is stopped then.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	s := &served{logs: &logcapture.Buffer{}, done: make(chan error, 1), stop: stop}
	addrc := make(chan net.Addr, 1)
	go func() { s.done <- serve(ctx, args, s.logs, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() { stop(); <-s.done })
	select {
	case a := <-addrc:
		s.addr = a.String()
		s.url = "http://" + s.addr
	case err := <-s.done:
		s.done <- err // for the cleanup
		t.Fatalf("serve stopped: %v\n%s", err, s.logs.String())
	}
	return s
}

// end stops serve and returns its error.
func (s *served) end() error {
	s.stop()
	err := <-s.done
	s.done <- err // for the cleanup, and a second end
	return err
}

// admin is the admin listener's base URL, from serve's log.
func (s *served) admin(t *testing.T) string {
	t.Helper()
	return "http://" + logged(t, s.logs.String(), "admin listening", "addr")
}

// status is the admin listener's GET /config.
func (s *served) status(t *testing.T) reload.Status {
	t.Helper()
	code, body := get(s.admin(t) + "/config")
	var st reload.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("GET /config = %d %q: %v", code, body, err)
	}
	return st
}

// TestServeFromFileAndReload runs the standalone gateway from a YAML file:
// it routes, refuses a bad edit with file and line while the running
// configuration stays in force, and applies a good edit without a restart.
func TestServeFromFileAndReload(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	write := func(s string) {
		// Write-then-rename, as editors and ConfigMap updates do.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	base := `listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
drain_period: 50ms
upstreams:
  a:
    instances: [` + a + `]
  b:
    instances: [` + b + `]
routes:
  - name: a
    path_prefix: /a
    upstream: a
`
	write(base)

	srv := startServe(t, "-config", path, "-watch", "20ms")
	url, logs := srv.url, srv.logs
	if code, body := get(url + "/a/x"); code != 200 || body != "a /a/x" {
		t.Fatalf("GET /a/x = %d %q", code, body)
	}

	// A bad edit: refused with file, line and field; the old config stays.
	write(base + `  - name: b
    path_prefix: /b
    upstream: nope
`)
	waitUntil(t, "the refusal to be logged", func() bool { return strings.Contains(logs.String(), "configuration refused") })
	if l := logs.String(); !strings.Contains(l, "gatescale.yaml:15:15") || !strings.Contains(l, "routes[1].upstream") {
		t.Fatalf("refusal does not name file:line and field:\n%s", l)
	}
	if code, _ := get(url + "/a/x"); code != 200 {
		t.Fatalf("running config lost after a refused edit: %d", code)
	}
	if code, _ := get(url + "/b/x"); code != 404 {
		t.Fatalf("half-applied config: /b/x = %d", code)
	}

	// A good edit is applied without a restart.
	write(base + `  - name: b
    path_prefix: /b
    upstream: b
`)
	waitUntil(t, "the new route", func() bool { code, body := get(url + "/b/x"); return code == 200 && body == "b /b/x" })

	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("upstreams:\n  u:\n    instances: [127.0.0.1:1]\nroutes:\n  - {name: r, path_prefix: /, upstream: u}\n"), 0o600)
	os.WriteFile(bad, []byte("upstreams:\n  u:\n    instances: [127.0.0.1:1]\n    balancr: p2c\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"validate", "-config", good}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ok") {
		t.Fatalf("validate good: %v %q", err, out.String())
	}
	err := run(context.Background(), []string{"validate", "-config", bad}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4") || !strings.Contains(err.Error(), "balancr") {
		t.Fatalf("validate bad: %v", err)
	}
}

// TestSelfRegistration: the gateway registers itself in Consul with a check
// on its readiness, and is gone from Consul after shutdown.
func TestSelfRegistration(t *testing.T) {
	agent := consultest.Start(t)
	t.Setenv("CONSUL_HTTP_ADDR", agent.Addr)
	registerAndLeave(t, agent, "edge-gateway", func() {})
}

// registerAndLeave runs the gateway with -consul-register service, calls
// started once it serves, waits for Consul to list it passing at its own
// address, stops it and checks that Consul no longer lists it.
func registerAndLeave(t *testing.T, agent *consultest.Agent, service string, started func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatescale.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: ["+backend(t, "a")+"]\nroutes:\n  - {name: a, path_prefix: /, upstream: a}\n"), 0o600)
	srv := startServe(t, "-config", path, "-consul-register", service)
	started()
	waitUntil(t, "a passing gateway instance in Consul", func() bool {
		entries, _, err := agent.Client.Health().Service(service, "", true, nil)
		return err == nil && len(entries) == 1 && fmt.Sprintf("%s:%d", entries[0].Service.Address, entries[0].Service.Port) == srv.addr
	})
	if err := srv.end(); err != nil {
		t.Fatal(err)
	}
	entries, _, err := agent.Client.Health().Service(service, "", false, nil)
	if err != nil || len(entries) != 0 {
		t.Fatalf("after shutdown Consul still lists %d gateway instances (err %v)", len(entries), err)
	}
}

// TestSelfRegistrationRetries: a gateway that starts before its Consul
// agent can be reached (a sidecar starting later, an agent restarting)
// registers once the agent answers, instead of giving up after the first
// attempt. The agent is real; a relay in front of it refuses connections
// until the gateway has failed once.
func TestSelfRegistrationRetries(t *testing.T) {
	agent := consultest.Start(t)
	relay := tcprelay.Start(t, agent.Addr)
	relay.Refuse()
	t.Setenv("CONSUL_HTTP_ADDR", relay.Addr)
	registerAndLeave(t, agent, "late-agent", func() {
		select {
		case <-relay.Refused():
		case <-time.After(20 * time.Second):
			t.Fatal("the gateway never tried to register")
		}
		relay.Restore(t)
	})
}

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	hpa, csvPath := filepath.Join(dir, "hpa.yaml"), filepath.Join(dir, "qps.csv")
	os.WriteFile(hpa, []byte(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: g}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: g}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Pods
    pods: {metric: {name: gatescale_requests_per_second}, target: {type: AverageValue, averageValue: "45"}}
  behavior: {scaleDown: {stabilizationWindowSeconds: 30}}
`), 0o600)
	os.WriteFile(csvPath, []byte("seconds,qps\n0,0\n30,110\n120,0\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"plan", "-hpa", hpa, "-qps", csvPath, "-until", "200s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	var replicas []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) >= 6 {
			replicas = append(replicas, f[5])
		}
	}
	got := strings.Join(replicas, " ")
	if !strings.Contains(got, "2 2 3") || !strings.HasSuffix(strings.TrimSpace(got), "2") {
		t.Fatalf("replicas over time %q: want 2 → 3 under 110 QPS and back to 2\n%s", got, out.String())
	}
	os.WriteFile(csvPath, []byte("0,1\nabc,2\n"), 0o600)
	if err := run(context.Background(), []string{"plan", "-hpa", hpa, "-qps", csvPath}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "qps.csv:2") {
		t.Fatalf("bad CSV: %v", err)
	}
}
