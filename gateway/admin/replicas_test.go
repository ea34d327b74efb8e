package admin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/internal/consultest"
)

// replica is one gateway process: a Gateway, a Runtime and a reload.Loop
// over the shared store.
type replica struct {
	gw      *gateway.Gateway
	srv     *httptest.Server
	loop    *reload.Loop
	reg     *prometheus.Registry
	rt      *live.Runtime
	mu      sync.Mutex
	applied map[uint64]time.Time
}

func startReplica(t *testing.T, st admin.Store) *replica {
	t.Helper()
	r := &replica{reg: prometheus.NewRegistry(), applied: map[uint64]time.Time{}}
	var err error
	if r.gw, err = gateway.New(gateway.WithRegistry(r.reg), gateway.WithAccessLog(false)); err != nil {
		t.Fatal(err)
	}
	rt := live.NewRuntime(live.WithRegistry(r.reg))
	r.rt = rt
	metrics, err := reload.NewMetrics(r.reg, "gatescale")
	if err != nil {
		t.Fatal(err)
	}
	inner := admin.Apply(r.gw, rt)
	apply := func(ctx context.Context, data []byte) (reload.Result, error) {
		res, err := inner(ctx, data)
		if err == nil {
			s, _ := admin.Decode(data)
			r.mu.Lock()
			r.applied[s.Revision] = time.Now()
			r.mu.Unlock()
		}
		return res, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.loop = reload.NewLoop(admin.NewSource(st), apply, reload.Options{Logger: logger, Metrics: metrics})
	if err := r.loop.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.loop.Run(ctx) }()
	r.srv = httptest.NewServer(r.gw)
	t.Cleanup(func() { r.srv.Close(); cancel(); <-done; r.gw.Close(); rt.Close() })
	return r
}

func (r *replica) appliedAt(rev uint64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.applied[rev]
	return at, ok
}

func (r *replica) get(path string) int {
	resp, err := http.Get(r.srv.URL + path)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (r *replica) reloads(result string) float64 {
	mfs, _ := r.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "gatescale_config_reloads_total" {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Three replicas share one Consul: each change reaches all of them through
// blocking queries while a load loop sees no failure; a fourth replica
// started later serves the current state once Load returns (before it
// would report ready); hand-edited bad data is refused and counted, the
// last good state stays; with Consul stopped the data path keeps working,
// and after its restart the replicas converge.
func TestReplicasShareConsulState(t *testing.T) {
	agent := consultest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	st := admin.NewConsul(agent.Client, "gs/admin")
	st.WaitTime = 5 * time.Second
	ctx := context.Background()
	cfg := sample(backend.Listener.Addr().String(), "stable")
	rev, err := st.Save(ctx, 0, cfg, admin.Change{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	replicas := []*replica{startReplica(t, st), startReplica(t, st), startReplica(t, st)}

	// The load loop: every replica, the stable route, all the time.
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var lwg sync.WaitGroup
	for _, r := range replicas {
		lwg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if code := r.get("/stable"); code != 200 {
					failed.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}

	const changes = 50
	var lat []time.Duration
	for i := range changes {
		next := sample(backend.Listener.Addr().String(), "stable", fmt.Sprintf("churn%d", i))
		start := time.Now()
		if rev, err = st.Save(ctx, rev, next, admin.Change{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		for _, r := range replicas {
			waitUntil(t, fmt.Sprintf("revision %d", rev), 10*time.Second, func() bool { _, ok := r.appliedAt(rev); return ok })
			at, _ := r.appliedAt(rev)
			lat = append(lat, at.Sub(start))
		}
	}
	slices.Sort(lat)
	t.Logf("propagation over %d changes x %d replicas: p50 %v, p99 %v, max %v", changes, len(replicas),
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	for _, r := range replicas {
		if code := r.get(fmt.Sprintf("/churn%d", changes-1)); code != 200 {
			t.Fatalf("latest route: %d", code)
		}
		if code := r.get(fmt.Sprintf("/churn%d", changes-2)); code != 404 {
			t.Fatalf("removed route: %d", code)
		}
	}

	// A fourth replica: Load applies the current state before it serves.
	late := startReplica(t, st)
	if code := late.get(fmt.Sprintf("/churn%d", changes-1)); code != 200 {
		t.Fatalf("late replica: %d", code)
	}

	// Hand-edited bad data: not JSON, then valid JSON naming no upstream.
	errsBefore := replicas[0].reloads("error")
	if _, err := agent.Client.KV().Put(&api.KVPair{Key: "gs/admin/state/routes/stable", Value: []byte("{not json")}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "refusal of bad JSON", 10*time.Second, func() bool { return replicas[0].reloads("error") > errsBefore })
	errsBefore = replicas[0].reloads("error")
	if _, err := agent.Client.KV().Put(&api.KVPair{Key: "gs/admin/state/routes/stable", Value: []byte(`{"name":"stable","path_prefix":"/stable","upstream":"nope"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "refusal of an invalid route", 10*time.Second, func() bool { return replicas[0].reloads("error") > errsBefore })
	if s := replicas[0].loop.Status(); s.LastError == "" {
		t.Fatal("status shows no error")
	}
	// A proper write repairs it.
	if rev, err = st.Save(ctx, rev, cfg, admin.Change{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(replicas, late) {
		waitUntil(t, "repair", 10*time.Second, func() bool { _, ok := r.appliedAt(rev); return ok })
	}

	// Consul down: the data path goes on; back: convergence.
	agent.Stop()
	time.Sleep(time.Second)
	for _, r := range replicas {
		if code := r.get("/stable"); code != 200 {
			t.Fatalf("with Consul down: %d", code)
		}
	}
	agent.Restart()
	next := sample(backend.Listener.Addr().String(), "stable", "after")
	waitUntil(t, "consul back", 20*time.Second, func() bool {
		r2, err := st.Save(ctx, rev, next, admin.Change{Actor: "test"})
		if err == nil {
			rev = r2
		}
		return err == nil
	})
	for _, r := range append(replicas, late) {
		waitUntil(t, "convergence after restart", 20*time.Second, func() bool { return r.get("/after") == 200 })
	}
	close(stop)
	lwg.Wait()
	t.Logf("load loop: %d requests, %d failures", sent.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), sent.Load())
	}
}
