package consul_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

var quiet = slog.New(slog.DiscardHandler)

// watcher collects a resolver's updates.
type watcher struct {
	mu      sync.Mutex
	last    discovery.Update
	updates int
	cancel  context.CancelFunc
	done    chan struct{}
}

func watch(t *testing.T, r *consul.Resolver, service string) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_ = r.Watch(ctx, service, func(u discovery.Update) {
			w.mu.Lock()
			w.last, w.updates = u, w.updates+1
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

func (w *watcher) get() discovery.Update {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func until(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func addrs(u discovery.Update) map[string]discovery.Instance {
	out := map[string]discovery.Instance{}
	for _, i := range u.Instances {
		out[i.Addr] = i
	}
	return out
}

func register(t *testing.T, c *api.Client, reg consul.Registration) *consul.Registrar {
	t.Helper()
	r, err := consul.Register(context.Background(), c, reg, consul.WithRegistrarLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Deregister(context.Background()) })
	return r
}

func TestResolverFollowsConsul(t *testing.T) {
	agent := consultest.Start(t)
	c := agent.Client
	r1 := register(t, c, consul.Registration{Name: "users", Address: "127.0.0.1", Port: 9001, Tags: []string{"v1"}})
	register(t, c, consul.Registration{Name: "users", Address: "127.0.0.1", Port: 9002, Tags: []string{"v1"}, Weight: 5})
	register(t, c, consul.Registration{Name: "users", Address: "127.0.0.1", Port: 9003, Tags: []string{"v2"}, Meta: map[string]string{"version": "v2"}})

	all := watch(t, consul.NewResolver(c, consul.WithLogger(quiet)), "users")
	until(t, 5*time.Second, "three instances", func() bool { return len(all.get().Instances) == 3 })
	got := addrs(all.get())
	if got["127.0.0.1:9002"].Weight != 5 || got["127.0.0.1:9001"].Weight != 1 {
		t.Errorf("weights = %d, %d; want 1 and 5 from Consul's Weights", got["127.0.0.1:9001"].Weight, got["127.0.0.1:9002"].Weight)
	}
	if got["127.0.0.1:9003"].Meta["version"] != "v2" {
		t.Errorf("meta not carried: %v", got["127.0.0.1:9003"].Meta)
	}

	tagged := watch(t, consul.NewResolver(c, consul.WithTags("v1"), consul.WithLogger(quiet)), "users")
	filtered := watch(t, consul.NewResolver(c, consul.WithFilter(`Service.Meta.version == "v2"`), consul.WithLogger(quiet)), "users")
	until(t, 5*time.Second, "tag and filter subsets", func() bool {
		return len(tagged.get().Instances) == 2 && len(filtered.get().Instances) == 1
	})
	if _, ok := addrs(filtered.get())["127.0.0.1:9003"]; !ok {
		t.Errorf("filter picked %v", filtered.get().Instances)
	}

	// Deregistration reaches the watch within one blocking round trip.
	start := time.Now()
	if err := r1.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	until(t, 5*time.Second, "deregistration", func() bool { return len(all.get().Instances) == 2 })
	t.Logf("deregistration seen after %v", time.Since(start))
	if _, still := addrs(all.get())["127.0.0.1:9001"]; still {
		t.Fatal("deregistered instance still listed")
	}

	// A failing TTL check: critical instances leave the passing set.
	check := "service:users-127.0.0.1:9002"
	r2 := consul.NewResolver(c, consul.WithLogger(quiet))
	w2 := watch(t, r2, "users")
	until(t, 5*time.Second, "two", func() bool { return len(w2.get().Instances) == 2 })
	if err := c.Agent().UpdateTTL(check, "broken", api.HealthCritical); err != nil {
		t.Fatal(err)
	}
	until(t, 5*time.Second, "critical instance gone", func() bool {
		_, ok := addrs(w2.get())["127.0.0.1:9002"]
		return !ok
	})
}

// TestRegistrarSurvivesAgentRestart: the agent restarts on the same ports;
// the resolver keeps the last set while it is down (stale), the watch
// resumes, and the registration is still (or again) there.
func TestRegistrarSurvivesAgentRestart(t *testing.T) {
	agent := consultest.Start(t)
	register(t, agent.Client, consul.Registration{Name: "svc", Address: "127.0.0.1", Port: 7001, TTL: 2 * time.Second})
	w := watch(t, consul.NewResolver(agent.Client, consul.WithBackoff(20*time.Millisecond, 200*time.Millisecond), consul.WithLogger(quiet)), "svc")
	until(t, 5*time.Second, "one instance", func() bool { return len(w.get().Instances) == 1 })

	agent.Stop()
	until(t, 5*time.Second, "stale update", func() bool { return w.get().Err != nil })
	if n := len(w.get().Instances); n != 1 {
		t.Fatalf("while Consul is down the update carries %d instances, want the last known 1", n)
	}
	agent.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for u := w.get(); u.Err != nil || len(u.Instances) != 1; u = w.get() {
		if time.Now().After(deadline) {
			svcs, _ := agent.Client.Agent().Services()
			t.Fatalf("watch did not resume: last update %d instances, err %v; agent services %v", len(u.Instances), u.Err, svcs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// And it follows changes again.
	register(t, agent.Client, consul.Registration{Name: "svc", Address: "127.0.0.1", Port: 7002})
	until(t, 5*time.Second, "new instance after restart", func() bool { return len(w.get().Instances) == 2 })
}

func TestRegisterValidates(t *testing.T) {
	_, err := consul.Register(context.Background(), nil, consul.Registration{Name: "x", Address: "127.0.0.1"})
	if err == nil {
		t.Fatal("registration without a port accepted")
	}
}

func TestHTTPCheckRegistration(t *testing.T) {
	agent := consultest.Start(t)
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	register(t, agent.Client, consul.Registration{Name: "web", Address: host, Port: p, HealthURL: srv.URL + "/readyz", CheckInterval: 200 * time.Millisecond})
	w := watch(t, consul.NewResolver(agent.Client, consul.WithLogger(quiet)), "web")
	until(t, 10*time.Second, "passing via HTTP check", func() bool { return len(w.get().Instances) == 1 })
	healthy.Store(false) // e.g. draining: readiness fails
	until(t, 10*time.Second, "leaves the set when the check fails", func() bool { return len(w.get().Instances) == 0 })
	healthy.Store(true)
	until(t, 10*time.Second, "back when it passes", func() bool { return len(w.get().Instances) == 1 })
}

// BenchmarkDeregisterPropagation measures the time from a deregistration to
// the resolver's update without that instance (p50/p99 reported).
func BenchmarkDeregisterPropagation(b *testing.B) {
	agent := consultest.Start(b)
	r := consul.NewResolver(agent.Client, consul.WithLogger(quiet))
	seen := make(chan discovery.Update, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Watch(ctx, "bench", func(u discovery.Update) { seen <- u }) }()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		reg, err := consul.Register(context.Background(), agent.Client, consul.Registration{Name: "bench", Address: "127.0.0.1", Port: 10000 + i%50000}, consul.WithRegistrarLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		for u := range seen {
			if len(u.Instances) == 1 {
				break
			}
		}
		start := time.Now()
		if err := reg.Deregister(context.Background()); err != nil {
			b.Fatal(err)
		}
		for u := range seen {
			if len(u.Instances) == 0 {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestRestartGraceKeepsInstances checks the order of what the resolver
// delivers when Consul comes back after an outage without the service (a
// non-persistent agent): first the last known set, marked stale, then — once
// the grace has passed — the empty set. The Consul side is a scripted HTTP
// endpoint, so the sequence is exact.
func TestRestartGraceKeepsInstances(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case n == 1:
			w.Header().Set("X-Consul-Index", "10")
			fmt.Fprint(w, `[{"Node":{"Node":"n1","Address":"127.0.0.1"},"Service":{"ID":"g1","Service":"g","Port":7101,"Weights":{"Passing":1,"Warning":1}},"Checks":[]}]`)
		case n <= 3:
			w.WriteHeader(http.StatusInternalServerError) // Consul down
		default:
			w.Header().Set("X-Consul-Index", "3") // restarted, empty catalog
			if r.URL.Query().Get("index") == "3" {
				time.Sleep(20 * time.Millisecond) // a short blocking query
			}
			fmt.Fprint(w, `[]`)
		}
	}))
	defer srv.Close()
	client, err := consul.NewClient(srv.Listener.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := consul.NewResolver(client, consul.WithBackoff(time.Millisecond, 2*time.Millisecond), consul.WithRestartGrace(200*time.Millisecond), consul.WithLogger(quiet))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seq []string
	done := make(chan struct{})
	go func() {
		_ = r.Watch(ctx, "g", func(u discovery.Update) {
			state := fmt.Sprintf("%d/%t", len(u.Instances), u.Err != nil)
			if len(seq) == 0 || seq[len(seq)-1] != state {
				seq = append(seq, state)
			}
			if state == "0/false" {
				close(done)
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the empty set was never delivered")
	}
	// 1 healthy; then 1 kept while down and while the restarted Consul is
	// not trusted; then 0.
	want := []string{"1/false", "1/true", "0/false"}
	if fmt.Sprint(seq) != fmt.Sprint(want) {
		t.Fatalf("deliveries %v, want %v", seq, want)
	}
}

// TestOutageWithoutRestartTrustsEmptyAnswer: the gateway loses its
// connection to a Consul that keeps running (a network blip, a proxy
// restarting), and while it is cut off the service's last instance is
// deregistered. Consul's answer afterwards is empty and its index has gone
// on rising: that is the truth, not a restarted agent's catalog still being
// rebuilt. The restart grace used to follow any error, so the resolver kept
// sending requests to the gone instance for the whole grace.
func TestOutageWithoutRestartTrustsEmptyAnswer(t *testing.T) {
	agent := consultest.Start(t)
	relay := tcprelay.Start(t, agent.Addr)
	client, err := consul.NewClient(relay.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	reg := register(t, agent.Client, consul.Registration{Name: "blip", Address: "127.0.0.1", Port: 9101})
	r := consul.NewResolver(client, consul.WithBackoff(10*time.Millisecond, 50*time.Millisecond),
		consul.WithRestartGrace(time.Hour), consul.WithLogger(quiet))
	var (
		mu  sync.Mutex
		seq []string // distinct states in order: instances/stale
		why []string // the errors delivered
	)
	state := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seq) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Watch(ctx, "blip", func(u discovery.Update) {
			mu.Lock()
			defer mu.Unlock()
			s := fmt.Sprintf("%d/%t", len(u.Instances), u.Err != nil)
			if len(seq) == 0 || seq[len(seq)-1] != s {
				seq = append(seq, s)
			}
			if u.Err != nil {
				why = append(why, u.Err.Error())
			}
		})
	}()
	defer func() { cancel(); <-done }()

	until(t, 10*time.Second, "the instance", func() bool { return fmt.Sprint(state()) == "[1/false]" })
	relay.Cut()
	until(t, 10*time.Second, "the outage seen", func() bool { return len(state()) == 2 })
	if err := reg.Deregister(context.Background()); err != nil { // straight to the agent
		t.Fatal(err)
	}
	relay.Restore(t)
	until(t, 20*time.Second, "the empty set once Consul answers again", func() bool { return len(state()) == 3 })
	if got := fmt.Sprint(state()); got != "[1/false 1/true 0/false]" {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("deliveries %s, want [1/false 1/true 0/false]; errors: %q", got, why)
	}
}

// TestStaleReads: with WithStale the resolver's queries ask for Consul's
// stale consistency mode (any server may answer), without it they do not;
// both resolve the service from a real agent. A reverse proxy in front of
// the agent records the queries as Consul receives them.
func TestStaleReads(t *testing.T) {
	agent := consultest.Start(t)
	register(t, agent.Client, consul.Registration{Name: "reads", Address: "127.0.0.1", Port: 9201})
	var mu sync.Mutex
	queries := map[string][]string{} // by the resolver's name, from its token
	target := &url.URL{Scheme: "http", Host: agent.Addr}
	rp := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/health/service/") {
			mu.Lock()
			name := r.Header.Get("X-Consul-Token")
			queries[name] = append(queries[name], r.URL.RawQuery)
			mu.Unlock()
		}
		r.Header.Del("X-Consul-Token") // the dev agent has no ACLs
		rp.ServeHTTP(w, r)
	}))
	// After the watches' cleanups (registered later, run first): Close waits
	// for their blocking queries, which end only when the watches do.
	t.Cleanup(front.Close)
	for _, stale := range []bool{true, false} {
		name := fmt.Sprintf("stale-%t", stale)
		client, err := consul.NewClient(front.Listener.Addr().String(), name)
		if err != nil {
			t.Fatal(err)
		}
		w := watch(t, consul.NewResolver(client, consul.WithStale(stale), consul.WithLogger(quiet)), "reads")
		until(t, 10*time.Second, name+": the instance", func() bool { return len(w.get().Instances) == 1 })
		mu.Lock()
		for _, q := range queries[name] {
			v, err := url.ParseQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			if _, has := v["stale"]; has != stale {
				t.Errorf("%s: query %q, want stale in it: %t", name, q, stale)
			}
		}
		if len(queries[name]) == 0 {
			t.Errorf("%s: no query reached Consul", name)
		}
		mu.Unlock()
	}
}

// TestLaggingServerKeepsInstances: a Consul follower that lags the leader
// may answer the resolver: with WithStale any server answers, and an agent
// with discovery_max_stale lets one answer default-consistency reads too.
// Its answer has an older index and an older set (an instance registered
// since is missing from it); taken as it came, the resolver dropped that
// instance until the follower caught up, and took the lower index for a
// Consul restart. Two real agents stand for the cluster: the leader (every
// instance, a higher index) and the lagging follower (one instance, a
// lower index). A front routes as Consul does: once the follower is in
// play, the reads it may answer (stale ones; with discovery_max_stale every
// one but a consistent read) go to it, the others to the leader. Then the
// leader too answers with the lower index, as a cluster that lost its
// state: that set is delivered.
func TestLaggingServerKeepsInstances(t *testing.T) {
	leader, follower := consultest.Start(t), consultest.Start(t)
	// The leader's raft index well ahead of the follower's.
	for i := range 100 {
		if _, err := leader.Client.KV().Put(&api.KVPair{Key: fmt.Sprintf("ahead/%d", i), Value: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, port := range []int{9301, 9302} {
		register(t, leader.Client, consul.Registration{Name: "lag", Address: "127.0.0.1", Port: port})
	}
	register(t, follower.Client, consul.Registration{Name: "lag", Address: "127.0.0.1", Port: 9301})
	index := func(c *api.Client) uint64 {
		_, meta, err := c.Health().Service("lag", "", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return meta.LastIndex
	}
	if hi, lo := index(leader.Client), index(follower.Client); lo >= hi {
		t.Fatalf("the follower's index %d is not behind the leader's %d", lo, hi)
	}
	for _, stale := range []bool{true, false} {
		t.Run(fmt.Sprintf("stale=%t", stale), func(t *testing.T) { lagBehind(t, leader, follower, stale) })
	}
}

func lagBehind(t *testing.T, leader, follower *consultest.Agent, stale bool) {
	var lagging, reset atomic.Bool
	var followerAnswers atomic.Int64
	toLeader := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: leader.Addr})
	toFollower := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: follower.Addr})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, isStale := q["stale"]
		_, consistent := q["consistent"]
		if reset.Load() || lagging.Load() && (isStale || !stale && !consistent) {
			toFollower.ServeHTTP(w, r)
			followerAnswers.Add(1)
			return
		}
		toLeader.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close) // after the watch's cleanup, registered later
	client, err := consul.NewClient(front.Listener.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := consul.NewResolver(client, consul.WithStale(stale), consul.WithWaitTime(200*time.Millisecond),
		consul.WithBackoff(10*time.Millisecond, 50*time.Millisecond), consul.WithLogger(quiet))
	var (
		mu   sync.Mutex
		seen []string // each delivery's instances and error
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Watch(ctx, "lag", func(u discovery.Update) {
			var ports []string
			for _, i := range u.Instances {
				_, port, _ := net.SplitHostPort(i.Addr)
				ports = append(ports, port)
			}
			slices.Sort(ports)
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%v/%v", ports, u.Err))
			mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	deliveries := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }

	until(t, 10*time.Second, "both instances", func() bool { return len(deliveries()) == 1 })
	lagging.Store(true)
	until(t, 20*time.Second, "three answers of the lagging follower", func() bool { return followerAnswers.Load() >= 3 })
	if got := deliveries(); fmt.Sprint(got) != "[[9301 9302]/<nil>]" {
		t.Errorf("deliveries %q; want both instances once, never the follower's older set", got)
	}

	reset.Store(true)
	until(t, 20*time.Second, "the set after the reset", func() bool { return len(deliveries()) == 2 })
	if got := deliveries(); got[1] != "[9301]/<nil>" {
		t.Errorf("deliveries %q; want the reset cluster's set last", got)
	}
}
