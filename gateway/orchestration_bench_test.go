package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/units"
)

// countingListener counts the bytes a client and the gateway exchange.
type countingListener struct {
	net.Listener
	bytes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.bytes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// serveCounting serves gw on loopback and returns its URL and byte counter.
func serveCounting(b *testing.B, gw http.Handler) (string, *countingListener) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: gw}
	go func() { _ = srv.Serve(cl) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), cl
}

func benchGateway(b *testing.B, cfg gateway.Config) *gateway.Gateway {
	gw, err := gateway.New(gateway.WithLogger(slog.New(slog.DiscardHandler)), gateway.WithAccessLog(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gw.Close)
	if err := gw.Apply(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	return gw
}

// BenchmarkCompositeVsClientCalls: one composite request of three backends
// (two in parallel, one depending on the first) against a client making the
// same three calls itself through the gateway. Reports wall time per page
// and bytes on the client's wire for each, and their ratios.
func BenchmarkCompositeVsClientCalls(b *testing.B) {
	const latency = 2 * time.Millisecond // a backend's own work
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	orders := serveBackend(b, answer(`{"id":"o1","customer_id":"c7","total":12.5}`))
	customers := serveBackend(b, answer(`{"name":"Ada","tier":"gold"}`))
	recs := serveBackend(b, answer(`{"items":[{"sku":"a"},{"sku":"b"}]}`))
	ups := []gateway.UpstreamSpec{
		{Name: "orders", Instances: []discovery.Instance{{Addr: orders}}},
		{Name: "customers", Instances: []discovery.Instance{{Addr: customers}}},
		{Name: "recs", Instances: []discovery.Instance{{Addr: recs}}},
	}
	gw := benchGateway(b, gateway.Config{Upstreams: ups, Routes: []route.Route{
		{Route: spec.Route{Name: "page", Path: "/page/{id}", Composite: &compose.Composite{Calls: []compose.Call{
			{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
			{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}", Group: "customer"},
			{Name: "recs", Upstream: "recs", Path: "/recs", Group: "recs"},
		}}}},
		{Route: spec.Route{Name: "orders", PathPrefix: "/orders", Upstream: "orders"}},
		{Route: spec.Route{Name: "customers", PathPrefix: "/customers", Upstream: "customers"}},
		{Route: spec.Route{Name: "recs", PathPrefix: "/recs", Upstream: "recs"}},
	}})
	base, counter := serveCounting(b, gw)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func(path string) {
		resp, err := client.Get(base + path)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	var compositeTime, clientTime time.Duration
	var compositeBytes, clientBytes int64
	for b.Loop() {
		before, start := counter.bytes.Load(), time.Now()
		get("/page/o1")
		compositeTime += time.Since(start)
		compositeBytes += counter.bytes.Load() - before

		// The client's own way: the order first (it names the customer),
		// then the customer; recommendations do not depend on anything,
		// but a simple client asks for them in turn.
		before, start = counter.bytes.Load(), time.Now()
		get("/orders/o1")
		get("/customers/c7")
		get("/recs")
		clientTime += time.Since(start)
		clientBytes += counter.bytes.Load() - before
	}
	n := float64(b.N)
	b.ReportMetric(float64(compositeTime.Nanoseconds())/n, "composite-ns/page")
	b.ReportMetric(float64(clientTime.Nanoseconds())/n, "client-ns/page")
	b.ReportMetric(float64(compositeTime)/float64(clientTime), "time-ratio")
	b.ReportMetric(float64(compositeBytes)/n, "composite-B/page")
	b.ReportMetric(float64(clientBytes)/n, "client-B/page")
	b.ReportMetric(float64(compositeBytes)/float64(clientBytes), "bytes-ratio")
}

// BenchmarkCacheHitVsProxied: a cached route answering from the cache
// against the same route proxied to the backend. Reports the throughput
// ratio (goal ≥ 5) and the upstream calls the cached requests made.
func BenchmarkCacheHitVsProxied(b *testing.B) {
	var calls atomic.Int64
	backend := serveBackend(b, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = io.WriteString(w, `{"id":42,"name":"`+strings.Repeat("x", 180)+`"}`)
	})
	store, err := cache.NewStore(cache.StoreOptions{MaxBytes: units.Size(1 << 20)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	c, err := cache.New(store, cache.Policy{})
	if err != nil {
		b.Fatal(err)
	}
	gw := benchGateway(b, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "b", Instances: []discovery.Instance{{Addr: backend}}}},
		Routes: []route.Route{
			{Route: spec.Route{Name: "cached", PathPrefix: "/cached", Upstream: "b"}, Middleware: []func(http.Handler) http.Handler{c.Middleware}},
			{Route: spec.Route{Name: "proxied", PathPrefix: "/proxied", Upstream: "b"}},
		},
	})
	base, _ := serveCounting(b, gw)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var get func(path string)
	b.Run("loopback-client", func(b *testing.B) {
		// Over a loopback client connection, which both sides pay for.
		get = func(path string) {
			resp, err := client.Get(base + path)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cacheVsProxied(b, get, &calls)
	})
	b.Run("in-process", func(b *testing.B) {
		// The gateway's own work: the request handed to its handler.
		get = func(path string) {
			gw.ServeHTTP(discardWriter{h: http.Header{}}, httptestRequest(path))
		}
		cacheVsProxied(b, get, &calls)
	})
}

type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

func httptestRequest(path string) *http.Request {
	r, _ := http.NewRequest("GET", "http://gateway"+path, nil)
	r.RemoteAddr = "127.0.0.1:1234"
	return r
}

func cacheVsProxied(b *testing.B, get func(string), calls *atomic.Int64) {
	get("/cached/1") // fill
	var hit, proxied time.Duration
	var cachedCalls int64
	for b.Loop() {
		before, start := calls.Load(), time.Now()
		get("/cached/1")
		hit += time.Since(start)
		cachedCalls += calls.Load() - before
		start = time.Now()
		get("/proxied/1")
		proxied += time.Since(start)
	}
	b.ReportMetric(float64(proxied)/float64(hit), "hit-speedup")
	b.ReportMetric(float64(cachedCalls)/float64(b.N), "upstream-calls/hit")
}

func serveBackend(b *testing.B, h http.HandlerFunc) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
