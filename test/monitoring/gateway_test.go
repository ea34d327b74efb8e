package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/live"
)

// gatewayUnderTest is a real gateway, set up from YAML as the gatescale
// binary does it (config.Parse, live runtime, Apply, gateway.Server), on
// loopback.
type gatewayUnderTest struct {
	Addr, Admin string
}

// startGateway runs the configuration cfg (without listen/admin_listen:
// it gets free loopback ports) until the test ends.
func startGateway(t *testing.T, cfg string) *gatewayUnderTest {
	t.Helper()
	loaded, err := config.Parse("gatescale.yaml", []byte(cfg))
	if err != nil {
		t.Fatalf("gateway configuration: %v\n%s", err, cfg)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(append(loaded.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithLogger(logger))...)
	if err != nil {
		t.Fatal(err)
	}
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	ctx, cancel := context.WithCancel(context.Background())
	if err := loaded.Apply(ctx, gw, rt); err != nil {
		cancel()
		t.Fatalf("apply: %v", err)
	}
	ln := listen(t)
	adminLn := listen(t)
	srv := &gateway.Server{
		Gateway: gw, Handler: gw, Listener: ln, AdminListener: adminLn, Gatherer: reg,
		DrainPeriod: 10 * time.Millisecond, ShutdownTimeout: time.Second, Logger: logger,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		rt.Close()
		gw.Close()
	})
	g := &gatewayUnderTest{Addr: ln.Addr().String(), Admin: adminLn.Addr().String()}
	// Serving, not ready: a configuration may have an upstream whose
	// Consul is down on purpose, and a gateway is not ready until every
	// upstream's discovery has answered once.
	waitHTTP(t, "http://"+g.Admin+"/livez", 20*time.Second)
	return g
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func waitHTTP(t *testing.T, u string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not 200 after %v (last: %v)", u, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// backend is an upstream instance: /healthz answers 200, a path containing
// "fail" 500, anything else 200 after a few milliseconds.
type backend struct {
	Addr string
	srv  *http.Server
	once sync.Once
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	ln := listen(t)
	b := &backend{Addr: ln.Addr().String()}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
		case strings.Contains(r.URL.Path, "fail"):
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
		default:
			time.Sleep(time.Duration(1+rand.IntN(20)) * time.Millisecond)
			fmt.Fprintln(w, "ok")
		}
	})}
	go b.srv.Serve(ln)
	t.Cleanup(b.Kill)
	return b
}

// Kill stops the instance at once, as a crashed process would.
func (b *backend) Kill() { b.once.Do(func() { b.srv.Close() }) }

// load sends GETs for paths round robin at about qps until ctx ends or the
// test does; each request is bounded, the loop by the context.
func load(ctx context.Context, t *testing.T, base string, qps int, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 2 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(qps))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func(p string) {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}(paths[i%len(paths)])
		}
	}()
}

// promQuery runs an instant query and returns its result vector (or
// scalar, as one sample).
func promQuery(t *testing.T, base, q string) ([]sample, error) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string
		ErrorType string
		Error     string
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	switch body.Data.ResultType {
	case "vector":
		var v []sample
		err := json.Unmarshal(body.Data.Result, &v)
		return v, err
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(body.Data.Result, &s); err != nil {
			return nil, err
		}
		return []sample{{Value: s}}, nil
	default:
		return nil, fmt.Errorf("result type %s", body.Data.ResultType)
	}
}

type sample struct {
	Metric map[string]string
	Value  [2]any
}

func (s sample) String() string { return fmt.Sprintf("%v %v", s.Metric, s.Value[1]) }
