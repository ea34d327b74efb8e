package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatescale/gatescale/adapter/promtest"
	"github.com/gatescale/gatescale/gateway/console"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/hpasim"
	"github.com/gatescale/gatescale/internal/loadgen"
	"github.com/gatescale/gatescale/test/e2e/cluster"
	"github.com/gatescale/gatescale/test/e2e/kubelet"
	"github.com/gatescale/gatescale/test/e2e/timeline"
)

// The adapter's rules for this run: the per-pod QPS the HPA scales on (a
// 15 s rate window: Prometheus scrapes every second), its 30 s forecast,
// and pod CPU from the gateways' own process_cpu_seconds_total.
const adapterConfig = `rules:
  - seriesQuery: 'gatescale_http_requests_total{namespace!="",pod!=""}'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
    name: {matches: "^gatescale_http_requests_total$", as: "gatescale_requests_per_second"}
    metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[15s])) by (<<.GroupBy>>)'
externalRules:
  - seriesQuery: 'gatescale_http_requests_total{namespace!=""}'
    resources:
      overrides:
        namespace: {resource: namespace}
    name: {matches: "^gatescale_http_requests_total$", as: "gatescale_requests_per_second_total"}
    metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[15s])) by (<<.GroupBy>>)'
resourceRules:
  cpu:
    containerQuery: 'sum(rate(process_cpu_seconds_total{<<.LabelMatchers>>}[15s])) by (<<.GroupBy>>)'
    nodeQuery: 'sum(rate(process_cpu_seconds_total{<<.LabelMatchers>>}[15s])) by (<<.GroupBy>>)'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
        node: {resource: node}
    containerLabel: container
  memory:
    containerQuery: 'sum(process_resident_memory_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
    nodeQuery: 'sum(process_resident_memory_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
        node: {resource: node}
    containerLabel: container
  window: 15s
forecasts:
  # The total, not the per-pod value: a new pod's own rate climbs from 0
  # over the rate window, and a per-pod forecast extrapolates that climb
  # into more scale-out (2 → 7 in an earlier run). The total does not depend
  # on the replica count.
  - matches: gatescale_requests_per_second_total
    horizons: [30s]
    window: 1m
    step: 5s
    method: predict_linear
    floorAtCurrent: true
`

// The paper's profile: ramp to 110 QPS, hold, stop.
var profile = loadgen.Profile{
	{Duration: 60 * time.Second, From: 0, To: 110},
	{Duration: 120 * time.Second, From: 110, To: 110},
}

const target = 45.0 // QPS per pod, the HPA's averageValue

type runResult struct {
	run                 *timeline.Run
	load                loadgen.Result
	crossAt, decisionAt time.Duration // per-pod load above the target's band; HPA asks for 3
	servingAt           time.Duration // the third pod serves
	peakPerPod          float64       // as the HPA read it
	peakLoadPerPod      float64       // offered ÷ serving pods: what each pod really carried
	maxReplicas         int
	settledPerPod       float64
	cpuReported         bool
}

// TestHPAScalesGatewayOnQPS is the project's central claim, run for real:
// the stock HPA controller scales gateway processes 2 → 3 on the QPS the
// adapter serves from Prometheus, and back to 2 when the load stops, with
// not one request failing; then the same profile on the forecast metric.
func TestHPAScalesGatewayOnQPS(t *testing.T) {
	c := startCluster(t, clusterOptions())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bins := t.TempDir()
	gatescaleBin := goBuild(t, bins, "./cmd/gatescale")
	adapterBin := goBuild(t, bins, "./cmd/gatescale-adapter")

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Millisecond)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()

	prom := promtest.Start(t, promtest.Options{ScrapeInterval: time.Second})
	agent := consultest.Start(t) // the gateways register here; the load generator finds them here

	// The gateway as users deploy it, then a shorter scale-down window for
	// the test (the manifest's 120 s would make the run long).
	kubectl(t, c, "apply", "-k", "manifests/gateway")
	kubectl(t, c, "patch", "hpa", "gatescale", "-n", "gatescale", "--type=merge", "-p",
		`{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":20,"policies":[{"type":"Pods","value":1,"periodSeconds":10}]}}}}`)
	// Every manifest is accepted by the real apiserver.
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"manifests/gateway", "manifests/adapter", "manifests/prometheus"} {
		kubectl(t, c, "apply", "--dry-run=server", "-k", dir)
	}
	startAdapter(t, c, adapterBin, prom.URL, adapterConfig)

	var load targets
	podDir := t.TempDir()
	k := &kubelet.Kubelet{Client: c.Client, Namespace: "gatescale", Selector: "app.kubernetes.io/name=gatescale",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Start: func(ctx context.Context, pod *corev1.Pod) (kubelet.Process, error) {
			return startGateway(podDir, gatescaleBin, backend.Listener.Addr().String(), agent.Addr, pod)
		},
		OnChange: func(pods []kubelet.Pod) {
			var scrape []promtest.Target
			for _, p := range pods {
				scrape = append(scrape, promtest.Target{Addr: p.Process.(*gatewayProcess).admin,
					Labels: map[string]string{"namespace": "gatescale", "pod": p.Name, "container": "gatescale"}})
			}
			prom.SetTargets(t, scrape...)
		}}
	// Clients find the gateway replicas through their Consul registrations:
	// a replica joins when its readiness passes and leaves when its drain
	// starts, before its listener closes.
	rctx, rstop := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		_ = consul.NewResolver(agent.Client, consul.WithLogger(slog.New(slog.DiscardHandler))).Watch(rctx, "gatescale-e2e", func(u discovery.Update) {
			if u.Err != nil {
				return // keep the last set
			}
			addrs := make([]string, len(u.Instances))
			for i, in := range u.Instances {
				addrs[i] = in.Addr
			}
			load.set(addrs)
		})
	}()
	defer func() { rstop(); <-rdone }()
	kctx, kstop := context.WithCancel(ctx)
	kdone := make(chan struct{})
	go func() { defer close(kdone); _ = k.Run(kctx) }()
	defer func() { kstop(); <-kdone }()

	hpa := func() *autoscalingv2.HorizontalPodAutoscaler {
		h, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers("gatescale").Get(ctx, "gatescale", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// A counter series exists only after a first request: send a trickle so
	// the HPA can read the metric before the run starts.
	warm := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for range load.count() {
			if resp, err := warm.Get("http://" + load.next() + "/warmup"); err == nil {
				resp.Body.Close()
			}
		}
		h := hpa()
		if load.count() == 2 && perPodQPS(h) >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready for the run: %d replicas serving (pods %v); HPA status %+v", load.count(), k.Pods(), h.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}

	first := runProfile(t, ctx, c, k, &load, hpa, "HPA on gatescale_requests_per_second")
	report(t, first)
	checkConsoleView(t, ctx, c, hpa)

	// The same load with the HPA on the 30 s forecast of the total QPS, an
	// external metric divided by the replica count (averageValue 45).
	kubectl(t, c, "patch", "hpa", "gatescale", "-n", "gatescale", "--type=json", "-p",
		`[{"op":"replace","path":"/spec/metrics/0","value":{"type":"External","external":{"metric":{"name":"gatescale_requests_per_second_total_forecast_30s"},"target":{"type":"AverageValue","averageValue":"45"}}}}]`)
	waitFor(t, time.Minute, "the HPA reading the forecast", func() bool { return perPodQPS(hpa()) >= 0 })
	second := runProfile(t, ctx, c, k, &load, hpa, "HPA on the 30 s forecast of total QPS")
	report(t, second)
	if first.servingAt >= 0 && second.servingAt >= 0 {
		t.Logf("forecast: the third replica served %.0f s earlier; peak load per pod %.1f → %.1f QPS",
			(first.servingAt - second.servingAt).Seconds(), first.peakLoadPerPod, second.peakLoadPerPod)
	}

	// The CPU path acting on its own: the HPA on CPU utilisation only (5% of
	// the 250m request), a burst of load, and a scale-out driven by the
	// adapter's resource metrics.
	kubectl(t, c, "patch", "hpa", "gatescale", "-n", "gatescale", "--type=json", "-p",
		`[{"op":"replace","path":"/spec/metrics","value":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":5}}}]}]`)
	cpuOut := cpuScaleOut(t, ctx, &load, hpa)
	t.Logf("CPU-only HPA: utilisation %d%% of the request under 110 QPS; replicas %d → %d", cpuOut.util, 2, cpuOut.maxReplicas)
	if cpuOut.maxReplicas <= 2 {
		t.Errorf("the HPA on CPU did not scale out (utilisation %d%%, target 5%%)", cpuOut.util)
	}

	// gatescale plan replays the same HPA over the offered load: its
	// timeline must match the real controller's (peak, and when 3 happens).
	validatePlan(t, first)

	out := filepath.Join(repoRoot(t), "test", "e2e", "out")
	if d := os.Getenv("GATESCALE_E2E_DOCS"); d != "" {
		out = d
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeOutputs(t, out, first, second)
}

// perPodQPS is the Pods metric's current average as the HPA last read it,
// or -1 when the HPA has no value yet.
func perPodQPS(h *autoscalingv2.HorizontalPodAutoscaler) float64 {
	for _, m := range h.Status.CurrentMetrics {
		switch {
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil && m.Pods.Current.AverageValue != nil:
			return m.Pods.Current.AverageValue.AsApproximateFloat64()
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil && m.External.Current.AverageValue != nil:
			return m.External.Current.AverageValue.AsApproximateFloat64() // total / replicas
		}
	}
	return -1
}

func cpuUtilization(h *autoscalingv2.HorizontalPodAutoscaler) (int32, bool) {
	for _, m := range h.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Current.AverageUtilization != nil {
			return *m.Resource.Current.AverageUtilization, true
		}
	}
	return 0, false
}

// runProfile sends the profile through the replicas the kubelet runs,
// records the timeline every second, and waits for the scale-down after.
func runProfile(t *testing.T, ctx context.Context, c *cluster.Cluster, k *kubelet.Kubelet, load *targets,
	hpa func() *autoscalingv2.HorizontalPodAutoscaler, name string) runResult {
	res := runResult{run: &timeline.Run{Name: name}, crossAt: -1, decisionAt: -1, servingAt: -1}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	runner := &loadgen.Runner{Profile: profile, Client: client,
		NewRequest: func(ctx context.Context, n int64) (*http.Request, error) {
			addr := load.next()
			if addr == "" {
				return nil, fmt.Errorf("no gateway replica serving")
			}
			return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/items", nil)
		},
		OK: func(r *http.Response) bool { return r.StatusCode == 200 },
	}
	start := time.Now()
	loadDone := make(chan loadgen.Result, 1)
	go func() { loadDone <- runner.Run(ctx) }()

	after := time.Duration(-1) // when the load stopped
	for {
		el := time.Since(start)
		h := hpa()
		per := perPodQPS(h)
		if per < 0 {
			per = math.NaN()
		}
		serving := load.count()
		offered := profile.RateAt(el)
		res.run.Add(timeline.Point{At: el, OfferedQPS: offered, PerPodQPS: per,
			Desired: int(h.Status.DesiredReplicas), Current: int(h.Status.CurrentReplicas), ServingPods: serving})
		if _, ok := cpuUtilization(h); ok {
			res.cpuReported = true
		}
		// The two starting replicas leave the tolerance band (45 × 1.1 each).
		if res.crossAt < 0 && offered > 2*target*1.1 {
			res.crossAt = el
		}
		if res.decisionAt < 0 && h.Status.DesiredReplicas >= 3 {
			res.decisionAt = el
		}
		if res.servingAt < 0 && serving >= 3 {
			res.servingAt = el
		}
		if serving > 0 && el < profile.Duration() {
			res.peakLoadPerPod = math.Max(res.peakLoadPerPod, offered/float64(serving))
		}
		if !math.IsNaN(per) && el < profile.Duration() {
			res.peakPerPod = math.Max(res.peakPerPod, per)
			if el > profile.Duration()-20*time.Second {
				res.settledPerPod = per // the hold's last readings, after the scale settled
			}
		}
		select {
		case r := <-loadDone:
			res.load = r
			after = el
		default:
		}
		if after >= 0 && h.Status.CurrentReplicas == 2 && serving == 2 && el > after+5*time.Second {
			break
		}
		if after >= 0 && el > after+3*time.Minute {
			t.Errorf("%s: no scale-down to 2 within 3 minutes of the load stopping (replicas %d)", name, h.Status.CurrentReplicas)
			break
		}
		time.Sleep(time.Second)
	}
	for _, p := range res.run.Points() {
		res.maxReplicas = max(res.maxReplicas, p.Current)
	}
	if res.maxReplicas < 3 {
		t.Errorf("%s: peak replicas %d, want at least 3", name, res.maxReplicas)
	}
	if res.load.Failed != 0 || res.load.Sent == 0 {
		t.Errorf("%s: %d of %d requests failed through scale-out and scale-in: %v", name, res.load.Failed, res.load.Sent, res.load.Errors)
	}
	return res
}

func report(t *testing.T, r runResult) {
	t.Helper()
	t.Logf("%s: %d requests, %d failed; threshold crossed at %.0fs, HPA decided 3 at %.0fs (%+.0fs), third pod serving at %.0fs (%+.0fs); peak load per pod %.1f QPS, peak replicas %d, settled per-pod %.1f (110/3 = 36.7); CPU reported: %t",
		r.run.Name, r.load.Sent, r.load.Failed, r.crossAt.Seconds(), r.decisionAt.Seconds(), (r.decisionAt - r.crossAt).Seconds(),
		r.servingAt.Seconds(), (r.servingAt - r.decisionAt).Seconds(), r.peakLoadPerPod, r.maxReplicas, r.settledPerPod, r.cpuReported)
	if r.run.Name == "HPA on gatescale_requests_per_second" {
		if r.maxReplicas != 3 {
			t.Errorf("peak replicas %d, want 3: 2 → 3 at 110 QPS and 45 per pod, as in the paper", r.maxReplicas)
		}
		if math.Abs(r.settledPerPod-110.0/3) > 110.0/3*0.2 {
			t.Errorf("per-pod QPS after the scale settled = %.1f, want near 110/3 = 36.7", r.settledPerPod)
		}
		if !r.cpuReported {
			t.Error("the HPA never reported a CPU utilization: the resource-metrics path does not work")
		}
	}
}

// validatePlan replays the HPA with hpasim over the offered load of run r.
func validatePlan(t *testing.T, r runResult) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "manifests", "gateway", "hpa.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := yamlUnmarshal(raw, &hpa); err != nil {
		t.Fatal(err)
	}
	hpa.Spec.Metrics = hpa.Spec.Metrics[:1] // QPS only: plan does not model CPU
	sw := int32(20)
	hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = &sw
	var samples []hpasim.Sample
	for _, p := range r.run.Points() {
		samples = append(samples, hpasim.Sample{At: p.At, QPS: p.OfferedQPS})
	}
	startup := r.servingAt - r.decisionAt
	steps, err := hpasim.Simulate(&hpa, samples, hpasim.Options{SyncPeriod: 2 * time.Second, PodStartup: max(startup, 0), Until: samples[len(samples)-1].At})
	if err != nil {
		t.Fatal(err)
	}
	predicted, peak := time.Duration(-1), 0
	for _, s := range steps {
		peak = max(peak, s.Desired)
		if predicted < 0 && s.Desired >= 3 {
			predicted = s.At
		}
	}
	// The real controller reads a 15 s rate window of a 1 s scrape, so it
	// lags the offered load: allow that lag plus a few sync periods.
	t.Logf("gatescale plan: predicted 3 replicas at %.0fs, the real HPA at %.0fs; predicted peak %d", predicted.Seconds(), r.decisionAt.Seconds(), peak)
	if peak != 3 || predicted < 0 || r.decisionAt < 0 || (r.decisionAt-predicted).Abs() > 25*time.Second {
		t.Errorf("gatescale plan does not match the real controller: predicted peak %d at %v, real decision at %v", peak, predicted, r.decisionAt)
	}
}

func writeOutputs(t *testing.T, dir string, runs ...runResult) {
	var tl []*timeline.Run
	for _, r := range runs {
		tl = append(tl, r.run)
	}
	f, err := os.Create(filepath.Join(dir, "autoscaling.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := timeline.WriteCSV(f, tl...); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := os.Create(filepath.Join(dir, "autoscaling.svg"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	title := "gatescale on a real control plane: 0 → 110 QPS, target 45 QPS per pod"
	if err := timeline.WriteSVG(g, title, target, tl...); err != nil {
		t.Fatal(err)
	}
	var sum strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&sum, "%s: threshold crossed %.0fs, HPA decided 3 replicas %.0fs, third pod serving %.0fs, peak load per pod %.1f QPS, peak replicas %d, %d requests, %d failed\n",
			r.run.Name, r.crossAt.Seconds(), r.decisionAt.Seconds(), r.servingAt.Seconds(), r.peakLoadPerPod, r.maxReplicas, r.load.Sent, r.load.Failed)
	}
	_ = os.WriteFile(filepath.Join(dir, "autoscaling.txt"), []byte(sum.String()), 0o644)
	t.Logf("wrote %s/autoscaling.{csv,svg,txt}", dir)
}

type cpuResult struct {
	util        int32
	maxReplicas int32
}

// cpuScaleOut holds 110 QPS for up to 60 s and records the highest CPU
// utilisation and replica count the HPA reports.
func cpuScaleOut(t *testing.T, ctx context.Context, load *targets, hpa func() *autoscalingv2.HorizontalPodAutoscaler) cpuResult {
	var res cpuResult
	runner := &loadgen.Runner{Profile: loadgen.Profile{{Duration: 60 * time.Second, From: 110, To: 110}},
		Client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		NewRequest: func(ctx context.Context, n int64) (*http.Request, error) {
			addr := load.next()
			if addr == "" {
				return nil, fmt.Errorf("no gateway replica serving")
			}
			return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/items", nil)
		}}
	done := make(chan loadgen.Result, 1)
	go func() { done <- runner.Run(ctx) }() // runs to its end: cancelling would fail in-flight requests
	var r loadgen.Result
	for finished := false; !finished; {
		select {
		case r = <-done:
			finished = true
		case <-time.After(time.Second):
		}
		h := hpa()
		if u, ok := cpuUtilization(h); ok {
			res.util = max(res.util, u)
		}
		res.maxReplicas = max(res.maxReplicas, h.Status.CurrentReplicas)
	}
	if r.Failed != 0 {
		t.Errorf("CPU phase: %d of %d requests failed: %v", r.Failed, r.Sent, r.Errors)
	}
	return res
}

// checkConsoleView reads the console's autoscaling view of the real HPA
// (console.HPA, as `gatescale run -console-hpa` serves it) and compares it
// with the HPA object: replicas, bounds, and the per-pod QPS against its
// target of 45. The HPA controller may write between the two reads, so a
// mismatch is retried.
func checkConsoleView(t *testing.T, ctx context.Context, c *cluster.Cluster, hpa func() *autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	view := console.HPA(c.Client, "gatescale", "gatescale")
	var got console.Autoscaling
	var h *autoscalingv2.HorizontalPodAutoscaler
	for range 5 {
		var err error
		if got, err = view(ctx); err != nil {
			t.Fatalf("console autoscaling view: %v", err)
		}
		h = hpa()
		want := console.Autoscaling{HPA: "gatescale/gatescale", CurrentReplicas: int(h.Status.CurrentReplicas),
			DesiredReplicas: int(h.Status.DesiredReplicas), MinReplicas: int(*h.Spec.MinReplicas), MaxReplicas: int(h.Spec.MaxReplicas),
			QPSPerPod: perPodQPS(h), TargetQPSPerPod: 45}
		if got == want {
			t.Logf("console autoscaling view: %+v", got)
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("console autoscaling view %+v differs from the HPA %+v / %+v", got, h.Spec, h.Status)
}
