package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/live"
)

// The environment a child process reads its role from: the harness starts
// its Go targets, the backend and the open-loop generator by running its own
// binary again (a command or a test binary) with these set.
const (
	envRole      = "GATESCALE_BENCH_ROLE"
	envListen    = "GATESCALE_BENCH_LISTEN"
	envBackend   = "GATESCALE_BENCH_BACKEND"
	envConfig    = "GATESCALE_BENCH_CONFIG"
	envAccessLog = "GATESCALE_BENCH_ACCESS_LOG"
	envOpenLoop  = "GATESCALE_BENCH_OPENLOOP"
	envProfile   = "GATESCALE_BENCH_PROFILE"
	// EnvJWTSecret holds the HS256 secret of the full-chain target's issuer.
	envJWTSecret = "GATESCALE_BENCH_JWT_SECRET"
)

// backendBody is the backend's answer: 203 bytes of JSON, the size the
// issue's first measurements used.
var backendBody = func() []byte {
	b := []byte(`{"id":42,"name":"alice","email":"alice@example.com","plan":"team","active":true,"roles":["reader","writer"],"created":"2026-01-02T03:04:05Z","quota":{"requests":100000,"used":4242},"region":"eu-west"`)
	for len(b) < 202 {
		b = append(b, ' ')
	}
	return append(b, '}')
}()

// RunRole runs the child role named in the environment, if any, and
// reports whether there was one; a main or TestMain calls it first and
// exits when it returns true. The role serves until SIGTERM or SIGINT.
func RunRole() bool {
	role := os.Getenv(envRole)
	if role == "" {
		return false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch role {
	case "backend":
		err = serveBackend(ctx, os.Getenv(envListen))
	case "bare":
		err = serveBareProxy(ctx, os.Getenv(envListen), os.Getenv(envBackend))
	case "gatescale":
		stopProfile := startProfile(os.Getenv(envProfile))
		err = serveGatescale(ctx, os.Getenv(envConfig), os.Getenv(envAccessLog) == "1")
		stopProfile()
	case "openloop":
		err = runOpenLoop(ctx, os.Getenv(envOpenLoop), os.Stdout)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "bench role %s: %v\n", role, err)
		os.Exit(1)
	}
	return true
}

// startProfile writes a CPU profile of the whole process life to
// PREFIX-cpu.pprof and, when stopped, the allocation profile to
// PREFIX-allocs.pprof (go tool pprof -http renders the flame graphs).
// An empty prefix profiles nothing.
func startProfile(prefix string) (stop func()) {
	if prefix == "" {
		return func() {}
	}
	cpu, err := os.Create(prefix + "-cpu.pprof")
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if f, err := os.Create(prefix + "-allocs.pprof"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
}

// serveUntil serves h on addr until ctx ends.
func serveUntil(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return srv.Serve(ln)
}

// serveBackend answers every request with backendBody, allocating as
// little as net/http lets it, so that it costs every target the same.
func serveBackend(ctx context.Context, addr string) error {
	length := strconv.Itoa(len(backendBody))
	return serveUntil(ctx, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(backendBody)
	}))
}

// newBareTransport is the transport a careful user of
// httputil.ReverseProxy would set: Go's default of 2 idle connections per
// host collapses throughput behind 64 client connections.
func newBareTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
}

func serveBareProxy(ctx context.Context, addr, backend string) error {
	u, err := url.Parse("http://" + backend)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = newBareTransport()
	return serveUntil(ctx, addr, rp)
}

// serveGatescale serves a gatescale YAML file the way `gatescale run`
// does (same config loading, live runtime, gateway, access log and
// server), except that the access log is a choice of the harness and goes
// to /dev/null: the formatting and the write are paid, the terminal is
// not.
func serveGatescale(ctx context.Context, path string, accessLog bool) error {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	logger := slog.New(slog.NewJSONHandler(devnull, nil))
	reg := prometheus.NewRegistry()
	loaded, err := config.Load(path)
	if err != nil {
		return err
	}
	opts := append(loaded.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithLogger(logger), gateway.WithAccessLog(false))
	if accessLog {
		o := loaded.AccessLog
		o.Output, o.Writer = "", devnull
		al, err := accesslog.New(o)
		if err != nil {
			return err
		}
		defer al.Close()
		opts = append(opts, gateway.WithMiddleware(al.Middleware))
	}
	gw, err := gateway.New(opts...)
	if err != nil {
		return err
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	defer rt.Close()
	if err := loaded.Apply(ctx, gw, rt); err != nil {
		return err
	}
	srv := &gateway.Server{
		Gateway: gw, Addr: loaded.Listen, AdminAddr: loaded.AdminListen, Gatherer: reg,
		DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second, Logger: logger,
		Handler: gw, MaxHeaderBytes: loaded.Server.MaxHeaderBytes,
		ReadHeaderTimeout: loaded.Server.ReadHeaderTimeout, IdleTimeout: loaded.Server.IdleTimeout,
	}
	return srv.Run(ctx)
}

// openLoopParams is what the harness asks of the open-loop generator.
type openLoopParams struct {
	Addr     string            `json:"addr"`
	Path     string            `json:"path"`
	Headers  map[string]string `json:"headers"`
	Rate     float64           `json:"rate"`
	Duration time.Duration     `json:"duration"`
	Conns    int               `json:"conns"`
}

// openLoopResult is its answer; latencies in microseconds.
type openLoopResult struct {
	Offered  float64 `json:"offered"`
	Achieved float64 `json:"achieved"`
	Sent     int     `json:"sent"`
	Errors   int     `json:"errors"`
	Late     int     `json:"late"` // still queued when the run ended
	P50      float64 `json:"p50_us"`
	P99      float64 `json:"p99_us"`
	P999     float64 `json:"p999_us"`
	Max      float64 `json:"max_us"`
}

// runOpenLoop sends requests on a fixed schedule (rate per second) over a
// fixed set of keep-alive connections, wrk2-style: a request's latency is
// measured from the time the schedule says it should have been sent, not
// from when a connection became free to send it, so a stall shows up in
// every request it delayed (coordinated-omission correction).
func runOpenLoop(ctx context.Context, spec string, out io.Writer) error {
	var p openLoopParams
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		return err
	}
	if p.Rate <= 0 || p.Duration <= 0 || p.Conns <= 0 {
		return fmt.Errorf("open loop: rate, duration and conns must be positive: %+v", p)
	}
	req := []byte("GET " + p.Path + " HTTP/1.1\r\nHost: " + p.Addr + "\r\n")
	for k, v := range p.Headers {
		req = append(req, k+": "+v+"\r\n"...)
	}
	req = append(req, "\r\n"...)

	n := int(p.Rate * p.Duration.Seconds())
	due := make(chan time.Time, n+1)
	lats := make([][]float64, p.Conns)
	var errs, sent sync.Map
	var wg sync.WaitGroup
	runCtx, cancel := context.WithTimeout(ctx, p.Duration+5*time.Second)
	defer cancel()
	for i := range p.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			nerr, nsent := 0, 0
			defer func() {
				if conn != nil {
					conn.Close()
				}
				errs.Store(i, nerr)
				sent.Store(i, nsent)
			}()
			for {
				var at time.Time
				select {
				case <-runCtx.Done():
					return
				case t, ok := <-due:
					if !ok {
						return
					}
					at = t
				}
				if conn == nil {
					c, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
					if err != nil {
						nerr++
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 16<<10)
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				nsent++
				if _, err := conn.Write(req); err != nil {
					nerr++
					conn.Close()
					conn = nil
					continue
				}
				resp, err := http.ReadResponse(br, nil)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					nerr++
					conn.Close()
					conn = nil
					continue
				}
				lats[i] = append(lats[i], float64(time.Since(at).Nanoseconds())/1e3)
			}
		}()
	}
	// The schedule: every request has its own intended time; the sender
	// wakes every 100 µs and releases those that are due.
	start := time.Now()
	interval := time.Duration(float64(time.Second) / p.Rate)
	i := 0
	for i < n {
		now := time.Now()
		for ; i < n; i++ {
			at := start.Add(time.Duration(i) * interval)
			if at.After(now) {
				break
			}
			due <- at
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	res := openLoopResult{Offered: p.Rate, Late: len(due)}
	var all []float64
	for _, l := range lats {
		all = append(all, l...)
	}
	errs.Range(func(_, v any) bool { res.Errors += v.(int); return true })
	sent.Range(func(_, v any) bool { res.Sent += v.(int); return true })
	sort.Float64s(all)
	res.Achieved = float64(len(all)) / elapsed.Seconds()
	res.P50, res.P99, res.P999 = quantile(all, 0.50), quantile(all, 0.99), quantile(all, 0.999)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	return json.NewEncoder(out).Encode(res)
}

// quantile of sorted values (nearest rank); 0 for none.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
