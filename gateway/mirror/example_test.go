package mirror_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway/mirror"
)

// A route's handler that copies every request to a version under test. In
// the gateway, the mirror's handler is its upstream's proxy; here a plain
// reverse proxy to a test server.
func ExampleNew() {
	copies := make(chan string, 1)
	v2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		copies <- r.Method + " " + r.URL.Path + " " + string(body) + " from " + r.Header.Get("X-Mirrored-From")
		http.Error(w, "not ready", http.StatusInternalServerError) // discarded
	}))
	defer v2.Close()
	target, _ := url.Parse(v2.URL)

	m, err := mirror.New("orders", mirror.Policy{Upstream: "orders-v2", Header: "X-Mirrored-From"},
		httputil.NewSingleHostReverseProxy(target))
	if err != nil {
		panic(err)
	}
	primary := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "primary got %s", body)
	})
	rec := httptest.NewRecorder()
	m.Middleware(primary).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader("order 7")))
	fmt.Println(rec.Code, rec.Body.String())
	fmt.Println(<-copies)
	// Output:
	// 200 primary got order 7
	// POST /orders order 7 from orders
}

// Every problem of a policy, each at its field.
func ExamplePolicy_Validate() {
	pct := 150
	p := mirror.Policy{Percent: &pct, MaxInFlight: -1}
	for _, fe := range p.Validate() {
		fmt.Println(fe)
	}
	// Output:
	// upstream: is required: the upstream that receives the copies
	// percent: 150 is not a percentage (0-100)
	// max_in_flight: must not be negative
}

// Outcomes counted per route and mirror upstream; a removed route's
// series go with ForgetRoute, a removed upstream's with ForgetUpstream.
func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	metrics, err := mirror.NewMetrics(reg)
	if err != nil {
		panic(err)
	}
	m, _ := mirror.New("search", mirror.Policy{Upstream: "search-v2", MaxBodyBytes: 4},
		http.NotFoundHandler(), mirror.WithMetrics(metrics))
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("too long a body")))
	fmt.Println(count(reg, "search", "skipped_body"))
	metrics.ForgetUpstream("search-v2")
	fmt.Println(testutil.CollectAndCount(reg, "gatescale_mirror_requests_total"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("too long a body")))
	metrics.ForgetRoute("search") // nothing in flight: deleted at once
	fmt.Println(testutil.CollectAndCount(reg, "gatescale_mirror_requests_total"))
	// Output:
	// 1
	// 0
	// 0
}

// count reads one series of gatescale_mirror_requests_total.
func count(reg *prometheus.Registry, route, outcome string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Copies end with the context given: a closed gateway cuts those in
// flight.
func ExampleWithContext() {
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	hung := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // the mirror never answers by itself
	})
	reg := prometheus.NewRegistry()
	metrics, _ := mirror.NewMetrics(reg)
	m, _ := mirror.New("orders", mirror.Policy{Upstream: "orders-v2"}, hung,
		mirror.WithContext(ctx), mirror.WithMetrics(metrics))
	m.Middleware(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	<-entered
	cancel()
	for count(reg, "orders", "cancelled") != 1 {
		time.Sleep(time.Millisecond) // counted once the copy has returned
	}
	fmt.Println("cut")
	// Output:
	// cut
}

// A body over MaxBodyBytes is not copied; the route's upstream still gets
// all of it.
func ExampleMirror_Middleware() {
	m, _ := mirror.New("upload", mirror.Policy{Upstream: "upload-v2", MaxBodyBytes: 8},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Println("never copied") }))
	primary := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("primary got %d bytes\n", len(body))
	})
	body := strings.NewReader(strings.Repeat("x", 1000))
	m.Middleware(primary).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/file", body))
	// Output:
	// primary got 1000 bytes
}

// A copy whose handler panics is logged and counted an error; the client's
// request is not affected.
func ExampleWithLogger() {
	logged := make(chan struct{})
	out := writerFunc(func(p []byte) (int, error) {
		defer close(logged)
		return os.Stdout.Write(p)
	})
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		},
	}))
	m, _ := mirror.New("orders", mirror.Policy{Upstream: "orders-v2"},
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug in the version under test") }),
		mirror.WithLogger(logger))
	rec := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served") })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	<-logged
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// level=ERROR msg="mirror copy panicked" route=orders upstream=orders-v2 panic="bug in the version under test"
	// 200 served
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A reload builds the route's Mirror again WithPrevious the old one: the
// copy the old one still has in flight counts against max_in_flight 1, so
// the new one drops the next request's copy instead of sending a second.
func ExampleWithPrevious() {
	reg := prometheus.NewRegistry()
	metrics, err := mirror.NewMetrics(reg)
	if err != nil {
		panic(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	p := mirror.Policy{Upstream: "orders-v2", MaxInFlight: 1}
	old, _ := mirror.New("orders", p, stuck, mirror.WithMetrics(metrics))
	primary := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	old.Middleware(primary).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	<-entered // the old Mirror's copy is held

	reloaded, _ := mirror.New("orders", p, stuck, mirror.WithMetrics(metrics), mirror.WithPrevious(old))
	reloaded.Middleware(primary).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(count(reg, "orders", "dropped"))
	close(release)
	// Output:
	// 1
}

// A reload moves the route's mirror from search-v2 to search-v3: the
// route's series for search-v2 go, its others stay.
func ExampleMetrics_ForgetRouteUpstream() {
	reg := prometheus.NewRegistry()
	metrics, _ := mirror.NewMetrics(reg)
	send := func(upstream string) {
		m, _ := mirror.New("search", mirror.Policy{Upstream: upstream, MaxBodyBytes: 4}, http.NotFoundHandler(), mirror.WithMetrics(metrics))
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("too long a body")))
	}
	send("search-v2")
	send("search-v3")
	metrics.ForgetRouteUpstream("search", "search-v2")
	fmt.Println(testutil.CollectAndCount(reg, "gatescale_mirror_requests_total"))
	// Output: 1
}

func ExampleMirror_Upstream() {
	m, _ := mirror.New("search", mirror.Policy{Upstream: "search-v2"}, http.NotFoundHandler())
	fmt.Println(m.Upstream())
	// Output: search-v2
}
