package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/health"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// backend is a loopback server that answers with its name and counts hits.
func backend(t *testing.T, name string, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, name+" "+r.Method+" "+r.URL.Path+" "+string(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func addr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func startUpstream(t *testing.T, addrs []string, opts ...upstream.Option) *upstream.Upstream {
	t.Helper()
	var insts []discovery.Instance
	for _, a := range addrs {
		insts = append(insts, discovery.Instance{Addr: a})
	}
	opts = append([]upstream.Option{upstream.WithLogger(slog.New(slog.DiscardHandler)), upstream.WithPolicy(balance.RoundRobin{})}, opts...)
	u := upstream.New("svc", discovery.NewStatic(map[string][]discovery.Instance{"svc": insts}), opts...)
	u.Start(context.Background())
	t.Cleanup(u.Close)
	<-u.Ready()
	return u
}

// observer records what the proxy reports.
type observer struct {
	mu       sync.Mutex
	attempts []int // codes
	retries  []string
}

func (o *observer) ObserveUpstream(_ string, code int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, code)
}

func (o *observer) ObserveRetry(_, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries = append(o.retries, reason)
}

func (o *observer) counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.attempts), len(o.retries)
}

func inFlight(u *upstream.Upstream) int64 {
	var n int64
	for _, ep := range u.Endpoints() {
		n += ep.InFlight()
	}
	return n
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return string(b)
}

// TestDoRetriesAfterDialFailure: the first instance refuses the
// connection; the call goes on to the other one, body included, and the
// Result says so.
func TestDoRetriesAfterDialFailure(t *testing.T) {
	good, _ := backend(t, "good", nil)
	u := startUpstream(t, []string{deadAddr(t), addr(good)})
	obs := &observer{}
	p := proxy.New(u, proxy.WithObserver(obs), proxy.WithRetry(proxy.Retry{Attempts: 2, Budget: proxy.NewBudget(0.2, 10)}))
	total, retried := 0, 0
	for range 2 { // round robin: at least one of the two calls starts on the dead one
		req, _ := http.NewRequest("POST", "http://svc/orders", strings.NewReader("payload"))
		resp, res, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "good POST /orders payload" {
			t.Fatalf("body %q", body)
		}
		if res.Instance != addr(good) || res.Status != 200 || res.Reason != "" || res.Upstream != "svc" {
			t.Fatalf("result %+v", res)
		}
		if req.URL.Host != "svc" {
			t.Fatalf("Do changed the caller's request: %v", req.URL)
		}
		total += res.Attempts
		if res.Attempts == 2 {
			retried++
		}
	}
	attempts, retries := obs.counts()
	if retried == 0 || attempts != total || retries != retried || obs.retries[0] != "connect" {
		t.Fatalf("results say %d attempts, %d retried; observed %d attempts and retries %v", total, retried, attempts, obs.retries)
	}
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after closed bodies = %d", n)
	}
}

// TestDoPassiveEjection: failures seen through Do eject the instance, and
// later calls go elsewhere.
func TestDoPassiveEjection(t *testing.T) {
	bad, badHits := backend(t, "bad", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	good, _ := backend(t, "good", nil)
	u := startUpstream(t, []string{addr(bad), addr(good)},
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Minute, MaxEjectionPercent: 100}))
	p := proxy.New(u)
	for range 4 {
		req, _ := http.NewRequest("GET", "http://svc/", nil)
		resp, _, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if u.Admitted() != 1 {
		t.Fatalf("admitted = %d after two 500s, want the bad instance ejected", u.Admitted())
	}
	before := badHits.Load()
	for range 4 {
		req, _ := http.NewRequest("GET", "http://svc/", nil)
		resp, res, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if res.Instance != addr(good) {
			t.Fatalf("call went to %s after the ejection", res.Instance)
		}
	}
	if badHits.Load() != before {
		t.Fatal("the ejected instance still got calls")
	}
}

// TestDoReleasesOnBodyClose: the instance counts as busy until the caller is
// done with the body, by Close or by reading to EOF; the attempt is
// observed then, once.
func TestDoReleasesOnBodyClose(t *testing.T) {
	srv, _ := backend(t, "b", nil)
	u := startUpstream(t, []string{addr(srv)})
	obs := &observer{}
	p := proxy.New(u, proxy.WithObserver(obs), proxy.WithTryTimeout(time.Second))

	req, _ := http.NewRequest("GET", "http://svc/x", nil)
	resp, _, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if n := inFlight(u); n != 1 {
		t.Fatalf("in flight with the body open = %d, want 1", n)
	}
	if a, _ := obs.counts(); a != 0 {
		t.Fatalf("attempt observed before the body was done")
	}
	resp.Body.Close()
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after Close = %d, want 0", n)
	}
	resp.Body.Close() // twice: still one release
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after a second Close = %d", n)
	}

	resp, _, err = p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil { // EOF, no Close
		t.Fatal(err)
	}
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after reading to EOF = %d, want 0", n)
	}
	resp.Body.Close()
	if a, _ := obs.counts(); a != 2 || obs.attempts[0] != 200 {
		t.Fatalf("observed attempts %v, want two 200s", obs.attempts)
	}
}

// TestDoConcurrentForOneRequest fans one client request out to several
// calls at once, as a composite route will, each writing the request's
// record. Run with -race.
func TestDoConcurrentForOneRequest(t *testing.T) {
	a, _ := backend(t, "a", nil)
	b, _ := backend(t, "b", nil)
	u := startUpstream(t, []string{addr(a), addr(b)})
	p := proxy.New(u, proxy.WithRetry(proxy.Retry{Attempts: 2}))

	in := httptest.NewRequest("GET", "/profile", nil)
	info := request.NewInfo("profile", "svc", request.ClientOf(in, nil))
	ctx := request.WithInfo(in.Context(), info)
	const calls = 8
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://svc/part/"+string(rune('a'+i)), nil)
			resp, res, err := p.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasSuffix(string(body), "/part/"+string(rune('a'+i))+" ") {
				errs <- errors.New("wrong answer: " + string(body))
			}
			info.AddAttempts(res.Attempts)
			info.SetInstance(res.Instance)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := info.State(); st.Attempts != calls {
		t.Errorf("attempts recorded = %d, want %d", st.Attempts, calls)
	}
	if n := inFlight(u); n != 0 {
		t.Errorf("in flight after all calls = %d", n)
	}
}

func TestDoFailures(t *testing.T) {
	empty := upstream.New("empty", discovery.NewStatic(map[string][]discovery.Instance{"empty": nil}), upstream.WithLogger(slog.New(slog.DiscardHandler)))
	empty.Start(context.Background())
	t.Cleanup(empty.Close)
	<-empty.Ready()
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", "http://empty/", body)
	_, err := proxy.New(empty).RoundTrip(req)
	var perr *proxy.Error
	if !errors.As(err, &perr) || !errors.Is(err, balance.ErrNoInstances) || perr.Result.Reason != "no healthy instances" || perr.Result.Attempts != 0 {
		t.Fatalf("no instances: %v (%+v)", err, perr)
	}
	if body.closed.Load() != 1 {
		t.Errorf("request body closed %d times, want 1", body.closed.Load())
	}

	release := make(chan struct{})
	defer close(release)
	slow, _ := backend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	u := startUpstream(t, []string{addr(slow)})
	req, _ = http.NewRequest("GET", "http://svc/", nil)
	_, res, err := proxy.New(u, proxy.WithTryTimeout(50*time.Millisecond)).Do(req)
	if err == nil || res.Reason != "upstream timeout" || res.Attempts != 1 || res.Instance != addr(slow) || res.Status != 0 {
		t.Fatalf("try timeout: %v %+v", err, res)
	}
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after a failed call = %d", n)
	}
}

type closeCounter struct {
	io.Reader
	closed atomic.Int64
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// TestClientBodyFailureIsNotTheInstances: a request body that fails on the
// client's side — larger than LimitBody allows, or cut short by a client
// that went away — says nothing about the instance: it must not count
// towards passive ejection, or a few such clients eject healthy instances.
func TestClientBodyFailureIsNotTheInstances(t *testing.T) {
	a, _ := backend(t, "a", nil)
	b, _ := backend(t, "b", nil)
	u := startUpstream(t, []string{addr(a), addr(b)},
		upstream.WithPassiveHealth(health.Passive{ConsecutiveFailures: 2, BaseEjection: time.Minute, MaxEjectionPercent: 100}))
	p := proxy.New(u, proxy.WithLogger(slog.New(slog.DiscardHandler)))
	front := httptest.NewServer(proxy.LimitBody(16)(p))
	t.Cleanup(front.Close)

	// Bodies of unknown length over the limit: 413 each.
	for i := range 4 {
		req, _ := http.NewRequest("POST", front.URL+"/upload", io.NopCloser(strings.NewReader(strings.Repeat("x", 100))))
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized upload %d: %d, want 413", i, resp.StatusCode)
		}
	}
	if n := u.Admitted(); n != 2 {
		t.Fatalf("admitted = %d after oversized uploads, want both instances", n)
	}

	// Bodies that break off before their length: the client's fault, so a
	// 400 (not a 502 that counts as the gateway's error) and no ejection.
	for range 4 {
		body := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF))
		req, _ := http.NewRequest("POST", "http://svc/upload", body)
		req.ContentLength = 10
		if resp, _, err := p.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("a call with a broken body succeeded")
		}
		rec := httptest.NewRecorder()
		req, _ = http.NewRequest("POST", "http://svc/upload", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF)))
		req.ContentLength = 10
		p.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "request body") {
			t.Fatalf("a request whose body broke off: %d %s, want 400 saying the body was incomplete", rec.Code, rec.Body)
		}
	}
	if n := u.Admitted(); n != 2 {
		t.Fatalf("admitted = %d after uploads cut short, want both instances", n)
	}
}

// lateHead is a real transport whose answer reaches the proxy only after
// the attempt's context ended: the try timeout fired while the head was on
// its way, the window between the transport returning and the timer being
// stopped.
type lateHead struct{ rt http.RoundTripper }

func (l lateHead) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	<-r.Context().Done()
	return resp, err
}

// TestTryTimeoutAsHeadArrives: an answer whose try timeout fired as it
// arrived is a timed-out attempt (retried, or a 504), not a 200 whose body
// cannot be read because its context is gone.
func TestTryTimeoutAsHeadArrives(t *testing.T) {
	srv, hits := backend(t, "a", nil)
	u := startUpstream(t, []string{addr(srv)})
	tr := proxy.NewHTTP1Transport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	p := proxy.New(u, proxy.WithTransport(lateHead{tr}), proxy.WithTryTimeout(20*time.Millisecond))
	req, _ := http.NewRequest("GET", "http://svc/x", nil)
	resp, res, err := p.Do(req)
	if err == nil {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("Do returned %d %q (body read: %v) for an attempt whose try timeout fired", resp.StatusCode, b, rerr)
	}
	if res.Reason != "upstream timeout" {
		t.Fatalf("reason %q, want upstream timeout (%v)", res.Reason, err)
	}
	if hits.Load() == 0 {
		t.Fatal("the backend was never called")
	}
	if n := inFlight(u); n != 0 {
		t.Fatalf("in flight after the call = %d", n)
	}
}
