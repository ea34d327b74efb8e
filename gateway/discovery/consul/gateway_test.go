package consul_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/consultest"
)

// instance is a real backend that registers itself in Consul with an HTTP
// check on its own /readyz.
type instance struct {
	srv     *httptest.Server
	hits    atomic.Int64
	healthy atomic.Bool
	reg     *consul.Registrar
	port    int
}

func startInstance(t *testing.T, agent *consultest.Agent, weight int) *instance {
	in := &instance{}
	in.healthy.Store(true)
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !in.healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		in.hits.Add(1)
		time.Sleep(2 * time.Millisecond) // requests are in flight while things change
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(in.srv.Close)
	_, port, _ := net.SplitHostPort(in.srv.Listener.Addr().String())
	in.port, _ = strconv.Atoi(port)
	in.reg = in.register(t, agent, weight)
	return in
}

func (in *instance) register(t *testing.T, agent *consultest.Agent, weight int) *consul.Registrar {
	reg, err := consul.Register(context.Background(), agent.Client, consul.Registration{
		Name: "api", Address: "127.0.0.1", Port: in.port, Weight: weight,
		HealthURL: in.srv.URL + "/readyz", CheckInterval: 100 * time.Millisecond,
	}, consul.WithRegistrarLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// load sends requests from 8 clients until stopped and counts failures.
type load struct {
	sent, failed atomic.Int64
	stop         chan struct{}
	once         sync.Once
	wg           sync.WaitGroup
	mu           sync.Mutex
	errs         []string
}

func startLoad(url string) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				l.sent.Add(1)
				if err != nil || resp.StatusCode != 200 {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						if err != nil {
							l.errs = append(l.errs, err.Error())
						} else {
							l.errs = append(l.errs, resp.Status)
						}
					}
					l.mu.Unlock()
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	return l
}

func (l *load) finish() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// TestGatewayFollowsConsulUnderLoad is the discovery acceptance test: a real
// Consul agent, three real instances registering themselves, the gateway
// routing to them under continuous load while instances are deregistered,
// fail their checks, change weight, and Consul itself goes away and comes
// back. Not one request may fail.
func TestGatewayFollowsConsulUnderLoad(t *testing.T) {
	agent := consultest.Start(t)
	a, b, c := startInstance(t, agent, 1), startInstance(t, agent, 1), startInstance(t, agent, 1)

	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	resolver := consul.NewResolver(agent.Client, consul.WithBackoff(20*time.Millisecond, 200*time.Millisecond), consul.WithLogger(quiet))
	err = gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "api", Resolver: resolver, Balancer: balance.Weighted{},
			Retry: gateway.RetrySpec{Attempts: 2}}},
		Routes: []route.Route{{Route: spec.Route{Name: "api", PathPrefix: "/", Upstream: "api"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	defer front.Close()
	up := gw.Upstream("api")
	until(t, 5*time.Second, "three instances admitted", func() bool { return up.Admitted() == 3 })

	l := startLoad(front.URL + "/work")
	defer l.finish()
	settle := func() { time.Sleep(300 * time.Millisecond) } // let load run in each phase
	settle()

	// 1. Deregister a mid-load: in-flight requests finish, new ones go elsewhere.
	if err := a.reg.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	until(t, 5*time.Second, "a leaves the set", func() bool { return up.Admitted() == 2 })
	aHits := a.hits.Load()
	settle()
	if got := a.hits.Load(); got > aHits+8 { // at most the requests already picked (8 clients)
		t.Fatalf("deregistered instance still receives traffic: %d → %d", aHits, got)
	}

	// 2. b fails its health check (e.g. draining): out of the set, no errors.
	b.healthy.Store(false)
	until(t, 5*time.Second, "b leaves the set on a failing check", func() bool { return up.Admitted() == 1 })
	b.healthy.Store(true)
	until(t, 5*time.Second, "b back", func() bool { return up.Admitted() == 2 })

	// 3. Weights: c re-registers with weight 3; the weighted balancer follows.
	c.register(t, agent, 3)
	until(t, 5*time.Second, "c's new weight", func() bool {
		for _, ep := range up.Endpoints() {
			if strings.HasSuffix(ep.Addr, ":"+strconv.Itoa(c.port)) && ep.Weight == 3 {
				return true
			}
		}
		return false
	})
	b0, c0 := b.hits.Load(), c.hits.Load()
	settle()
	db, dc := b.hits.Load()-b0, c.hits.Load()-c0
	if db == 0 || float64(dc)/float64(db) < 2 || float64(dc)/float64(db) > 4.5 {
		t.Fatalf("after weights 1:3, b got %d and c got %d requests", db, dc)
	}

	// 4. Consul goes away: traffic continues on the last known instances.
	agent.Stop()
	until(t, 5*time.Second, "upstream marked stale", func() bool { return up.Stale() != nil })
	sentBefore := l.sent.Load()
	settle()
	if l.sent.Load()-sentBefore < 20 {
		t.Fatal("traffic stalled while Consul was down")
	}
	if v := metric(t, reg, "gatescale_discovery_stale"); v != 1 {
		t.Fatalf("gatescale_discovery_stale = %v while Consul is down, want 1", v)
	}

	// 5. Consul comes back: the watch resumes and follows changes again.
	agent.Restart()
	until(t, 20*time.Second, "watch resumes", func() bool { return up.Stale() == nil })
	a.reg = a.register(t, agent, 1)
	until(t, 5*time.Second, "a back after the restart", func() bool { return up.Admitted() == 3 })
	settle()

	l.finish()
	if l.failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed: %v", l.failed.Load(), l.sent.Load(), l.errs)
	}
	t.Logf("%d requests, none failed", l.sent.Load())
}

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
