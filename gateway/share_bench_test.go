package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/bench"
	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// rawBackend answers every GET on a kept-alive connection with the same
// 203-byte JSON response, reading and writing through buffers made once
// per connection: it allocates nothing per request, so whatever the
// benchmarks below count was allocated by the gateway or by the transport
// that calls the backend.
func rawBackend(b *testing.B) string {
	b.Helper()
	body := bytes.Repeat([]byte("x"), 203)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					// Answer each complete (body-less) request in the buffer.
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// nopWriter is a ResponseWriter that keeps nothing and reuses its
// header map: the server side of a request (parsing it, the writer) is the
// http.Server's, not the gateway's, and is left out of the count.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) reset()                      { clear(w.h) }

// allocsPer measures allocations per call of f over n calls, every
// goroutine included (the transport's read and write loops allocate too).
func allocsPer(n int, f func()) (allocs, bytes float64) {
	runtime.GC()
	var a, z runtime.MemStats
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&z)
	return float64(z.Mallocs-a.Mallocs) / float64(n), float64(z.TotalAlloc-a.TotalAlloc) / float64(n)
}

// BenchmarkGatewayShare is the gateway's own share of the allocations of a
// proxied request (goal: ≤ 20 allocs and ≤ 2 KB). It measures, in one run
// and with the same transport and backend:
//   - the baseline: the upstream round trip the gateway cannot avoid, a
//     prepared GET through the gateway's default transport
//     (proxy.NewHTTP1Transport), body read into a reused buffer and closed;
//   - the gateway: Gateway.ServeHTTP of a prepared request into a
//     nopWriter (request id, metrics, route table, balancer, proxy,
//     optionally the access log), the same round trip inside;
//   - the full chain of `make bench-compare`'s gatescale-full target, from
//     the same kind of file: JWT (HS256, one token, so the verified-token
//     memory answers after the first request) + scope authorization +
//     local rate limit per consumer + passive health + access log (as
//     `gatescale run` writes it).
//
// own-allocs/op and own-B/op are the difference. The backend allocates
// nothing (rawBackend) and the client side is not in the process; the
// http.Server's parsing of the inbound request is outside the count, as
// lura's published figure leaves it out.
func BenchmarkGatewayShare(b *testing.B) {
	addr := rawBackend(b)
	tr := proxy.NewHTTP1Transport(nil)
	defer tr.CloseIdleConnections()
	buf := make([]byte, 32<<10)
	baseReq, _ := http.NewRequest("GET", "http://"+addr+"/users/42", nil)
	roundTrip := func() {
		resp, err := tr.RoundTrip(baseReq)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		resp.Body.Close()
	}
	for range 100 {
		roundTrip()
	}
	baseAllocs, baseBytes := allocsPer(5000, roundTrip)

	for _, variant := range []struct {
		name      string
		accessLog bool
		full      bool
	}{{"routing", false, false}, {"routing+accesslog", true, false}, {"full", false, true}} {
		b.Run(variant.name, func(b *testing.B) {
			logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
			opts := []gateway.Option{gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(variant.accessLog),
				gateway.WithTransport(tr), gateway.WithLogger(logger)}
			var loaded *config.Loaded
			if variant.full {
				loaded = loadFullChain(b, addr)
				// The access log as `gatescale run` writes it (accesslog.Log's
				// own encoder), not the slog one of WithAccessLog.
				o := loaded.AccessLog
				o.Output, o.Writer = "", io.Discard
				al, err := accesslog.New(o)
				if err != nil {
					b.Fatal(err)
				}
				defer al.Close()
				opts = append(append(loaded.GatewayOptions(), opts...), gateway.WithMiddleware(al.Middleware))
			}
			gw, err := gateway.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer gw.Close()
			if loaded != nil {
				rt := live.NewRuntime(live.WithLogger(logger))
				defer rt.Close()
				err = loaded.Apply(context.Background(), gw, rt)
			} else {
				err = gw.Apply(context.Background(), gateway.Config{
					Upstreams: []gateway.UpstreamSpec{{Name: "u", Instances: []discovery.Instance{{Addr: addr}}}},
					Routes:    []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/", Upstream: "u"}}},
				})
			}
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest("GET", "http://gateway.example/users/42", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "application/json")
			if variant.full {
				req.Header.Set("Authorization", "Bearer "+bench.FullChainToken(fullChainSecret))
			}
			orig := req.Header.Clone()
			w := &nopWriter{h: http.Header{}}
			serve := func() {
				// The gateway sets X-Request-Id on the request it was given;
				// put the client's headers back so every call is the first.
				for k := range req.Header {
					if _, ok := orig[k]; !ok {
						delete(req.Header, k)
					}
				}
				w.reset()
				gw.ServeHTTP(w, req)
			}
			for range 100 {
				serve()
			}
			if variant.full {
				// A refusal would be cheaper than a proxied request: make
				// sure the chain let it through.
				rec := &statusWriter{nopWriter: nopWriter{h: http.Header{}}}
				gw.ServeHTTP(rec, req)
				if rec.status != 0 && rec.status != http.StatusOK {
					b.Fatalf("the full chain answered %d", rec.status)
				}
			}
			gwAllocs, gwBytes := allocsPer(5000, serve)
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
			b.ReportMetric(baseAllocs, "baseline-allocs/op")
			b.ReportMetric(baseBytes, "baseline-B/op")
			b.ReportMetric(gwAllocs-baseAllocs, "own-allocs/op")
			b.ReportMetric(gwBytes-baseBytes, "own-B/op")
		})
	}
}

// statusWriter is a nopWriter that keeps the status.
type statusWriter struct {
	nopWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code }

// fullChainSecret is the HS256 secret of the full variant's issuer.
const fullChainSecret = "share-bench-secret-of-at-least-32-bytes"

// loadFullChain loads the full chain's file (bench-compare's "full"
// target, bench.FullChainYAML) with backend as the upstream's one instance.
func loadFullChain(b *testing.B, backend string) *config.Loaded {
	b.Helper()
	b.Setenv(bench.FullChainSecretEnv, fullChainSecret)
	path := filepath.Join(b.TempDir(), "full.yaml")
	yaml := bench.FullChainYAML(backend)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	loaded, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	return loaded
}
