package monitoring

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatescale/gatescale/adapter/promtest"
)

const (
	rulesConfigMap = "../../manifests/prometheus/rules.yaml"
	prometheusRule = "../../manifests/prometheus/operator/prometheusrule.yaml"
)

// rulesFile returns the rules.yml the ConfigMap carries: a plain Prometheus
// rules file.
func rulesFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(rulesConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatalf("%s: %v", rulesConfigMap, err)
	}
	rules, ok := cm.Data["rules.yml"]
	if !ok {
		t.Fatalf("%s has no rules.yml", rulesConfigMap)
	}
	return []byte(rules)
}

type ruleGroups struct {
	Groups []struct {
		Name  string
		Rules []map[string]any
	}
}

func parseGroups(t *testing.T, b []byte) ruleGroups {
	t.Helper()
	var g ruleGroups
	if err := yaml.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func alertNames(g ruleGroups) []string {
	var out []string
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			if a, ok := r["alert"].(string); ok {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestRuleFilesAgree: the PrometheusRule and the plain rules file hold the
// same rules, so whichever a cluster uses, the tests below covered it.
func TestRuleFilesAgree(t *testing.T) {
	b, err := os.ReadFile(prometheusRule)
	if err != nil {
		t.Fatal(err)
	}
	var pr struct{ Spec ruleGroups }
	if err := yaml.Unmarshal(b, &pr); err != nil {
		t.Fatal(err)
	}
	plain := parseGroups(t, rulesFile(t))
	if !reflect.DeepEqual(pr.Spec, plain) {
		t.Errorf("%s and the rules.yml in %s differ:\n%+v\n%+v", prometheusRule, rulesConfigMap, pr.Spec, plain)
	}
	if want := "GatescaleUpstreamNoHealthyInstances"; !contains(alertNames(plain), want) {
		t.Errorf("no alert %s", want)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// promtool returns the path of promtool (Debian's prometheus package ships
// it), or skips (fails with GATESCALE_REQUIRE_REAL) without it.
func promtool(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(promtest.RequireRealEnv) != "" {
			t.Fatalf("promtool is not on PATH and %s is set: run hack/install-debs.sh prometheus", promtest.RequireRealEnv)
		}
		t.Skipf("promtool is not on PATH (hack/install-debs.sh prometheus installs it)")
	}
	return bin
}

// TestPromtoolRules runs promtool check rules and promtool test rules
// (testdata/rules_test.yml) on the shipped rules, and checks that every
// alert has a case that fires it and one that keeps it quiet.
func TestPromtoolRules(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, rulesFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("testdata/rules_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", rules}, {"test", "rules", filepath.Join(dir, "rules_test.yml")}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args[:2], err, out)
		}
		t.Logf("promtool %v:\n%s", args[:2], out)
	}

	var suite struct {
		Tests []struct {
			AlertRuleTest []struct {
				AlertName string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		}
	}
	if err := yaml.Unmarshal(tests, &suite); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range suite.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				quiet[a.AlertName] = true
			}
		}
	}
	for _, name := range alertNames(parseGroups(t, rulesFile(t))) {
		if !fires[name] {
			t.Errorf("testdata/rules_test.yml: no case where %s fires", name)
		}
		if !quiet[name] {
			t.Errorf("testdata/rules_test.yml: no case where %s stays quiet", name)
		}
	}
}

// shortRules returns the shipped rules with every for: set to d, so a test
// sees an alert fire in seconds; expressions are unchanged.
func shortRules(t *testing.T, d time.Duration) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(rulesFile(t), &doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["for"] != nil {
				rule["for"] = fmt.Sprintf("%ds", int(d.Seconds()))
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type alert struct {
	Labels   map[string]string
	State    string
	ActiveAt time.Time `json:"activeAt"`
}

func alerts(t *testing.T, base string) []alert {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data struct{ Alerts []alert } }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Data.Alerts
}

func findAlert(as []alert, name, upstream string) *alert {
	for i, a := range as {
		if a.Labels["alertname"] == name && a.Labels["upstream"] == upstream {
			return &as[i]
		}
	}
	return nil
}

// TestUpstreamNoHealthyInstancesFires: a real Prometheus with the shipped
// rules (for: shortened to 2s) scrapes a real gateway under load; killing
// both instances of its upstream makes active health checks take them down
// and GatescaleUpstreamNoHealthyInstances fire, and not before.
func TestUpstreamNoHealthyInstancesFires(t *testing.T) {
	promtest.Binary(t)
	const name = "GatescaleUpstreamNoHealthyInstances"
	b1, b2 := startBackend(t), startBackend(t)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  users:
    instances: [%s, %s]
    active_health: {interval: 200ms, timeout: 100ms, unhealthy_threshold: 1, healthy_threshold: 1}
routes:
  - name: users
    path_prefix: /users
    upstream: users
`, b1.Addr, b2.Addr))
	load(t.Context(), t, "http://"+g.Addr, 20, "/users/1")

	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, shortRules(t, 2*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, promtest.Options{
		RuleFiles: []string{rules},
		Targets:   []promtest.Target{{Addr: g.Admin, Labels: map[string]string{"namespace": "gatescale", "pod": "gatescale-0"}}},
	})

	// Healthy first: both instances seen by Prometheus, and for several
	// evaluations the alert is neither pending nor firing.
	waitFor(t, 20*time.Second, "Prometheus to see 2 healthy instances", func() bool {
		v, err := promQuery(t, prom.URL, `gatescale_upstream_instances{upstream="users",state="healthy"} == 2`)
		return err == nil && len(v) == 1
	})
	for i := 0; i < 4; i++ {
		if a := findAlert(alerts(t, prom.URL), name, "users"); a != nil {
			t.Fatalf("%s is %s while both instances are up", name, a.State)
		}
		time.Sleep(time.Second)
	}

	killed := time.Now()
	b1.Kill()
	b2.Kill()
	var pendingAfter time.Duration
	waitFor(t, 30*time.Second, name+" to fire", func() bool {
		a := findAlert(alerts(t, prom.URL), name, "users")
		if a != nil && a.State == "pending" && pendingAfter == 0 {
			pendingAfter = time.Since(killed)
		}
		if a != nil && a.State == "firing" {
			if a.Labels["namespace"] != "gatescale" || a.Labels["severity"] != "critical" {
				t.Errorf("alert labels %v", a.Labels)
			}
			return true
		}
		return false
	})
	t.Logf("%s: pending %v and firing %v after both instances were killed (for: 2s, 1s scrape and evaluation)", name, pendingAfter.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
