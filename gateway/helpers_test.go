package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/live"
)

// serveYAML applies the gatescale file doc (config.Parse, a live runtime)
// to a new gateway, as the binary does, and serves it until the test
// ends; reg holds the gateway's and the runtime's series.
func serveYAML(t *testing.T, doc string) (url string, reg *prometheus.Registry) {
	t.Helper()
	loaded, err := config.Parse("gatescale.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	reg = prometheus.NewRegistry()
	logger := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(logger), gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	t.Cleanup(rt.Close)
	if err := loaded.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	return hs.URL, reg
}

// routeCache returns a route's response cache with policy p over a new
// store of options so, closed when the test ends.
func routeCache(t *testing.T, so cache.StoreOptions, p cache.Policy) *cache.Cache {
	t.Helper()
	store, err := cache.NewStore(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	c, err := cache.New(store, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// backend is a real HTTP server on loopback that records what it saw.
type backend struct {
	*httptest.Server
	name    string
	hits    atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]

	mu   sync.Mutex
	seen []*http.Request
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.mu.Lock()
		b.seen = append(b.seen, r.Clone(context.Background()))
		b.mu.Unlock()
		if h := b.handler.Load(); h != nil {
			(*h)(w, r)
			return
		}
		w.Header().Set("X-Backend", b.name)
		_, _ = io.WriteString(w, b.name+" "+r.URL.RequestURI())
	}))
	t.Cleanup(b.Close)
	return b
}

// handle replaces the backend's behaviour.
func (b *backend) handle(h http.HandlerFunc) { b.handler.Store(&h) }

func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

func (b *backend) instance() discovery.Instance { return discovery.Instance{Addr: b.addr()} }

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		return nil
	}
	return b.seen[len(b.seen)-1]
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newGateway builds a gateway with cfg applied, served by an httptest
// server, and returns both plus the metrics registry.
func newGateway(t *testing.T, cfg gateway.Config, opts ...gateway.Option) (*gateway.Gateway, *httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts = append([]gateway.Option{gateway.WithRegistry(reg), gateway.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	gw, err := gateway.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	if err := gw.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return gw, srv, reg
}

type response struct {
	code   int
	body   string
	header http.Header
}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue returns the value of the counter or gauge series name{labels}.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// histogramCount returns the observations of histogram name with label
// key=value, 0 when it has no such series.
func histogramCount(t *testing.T, reg *prometheus.Registry, name, key, value string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == key && lp.GetValue() == value {
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}
