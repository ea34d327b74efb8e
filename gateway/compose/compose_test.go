package compose

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// backends are real loopback servers, one per upstream name.
type backends struct {
	t       *testing.T
	servers map[string]*httptest.Server
	mu      sync.Mutex
	spans   map[string][2]time.Time // path -> start, end
}

func newBackends(t *testing.T, handlers map[string]http.HandlerFunc) *backends {
	b := &backends{t: t, servers: map[string]*httptest.Server{}, spans: map[string][2]time.Time{}}
	for name, h := range handlers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			h(w, r)
			b.mu.Lock()
			b.spans[name+" "+r.URL.Path] = [2]time.Time{start, time.Now()}
			b.mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		b.servers[name] = srv
	}
	return b
}

// RoundTripper sends a call to its upstream's server, as the gateway's
// proxy would to an instance.
func (b *backends) transport(upstream string) http.RoundTripper {
	srv := b.servers[upstream]
	if srv == nil {
		return nil
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		u, _ := url.Parse(srv.URL)
		r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (b *backends) span(key string) [2]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.spans[key]
	if !ok {
		b.t.Fatalf("no call %s; calls: %v", key, b.spans)
	}
	return s
}

func jsonHandler(delay time.Duration, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// serve runs the plan behind a chi route with pattern, as the gateway's
// table does, and returns the status, headers and decoded body.
func serve(t *testing.T, p *Plan, pattern, target string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	r := chi.NewRouter()
	r.Handle(pattern, p)
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, rec.Header(), doc
}

func mustPlan(t *testing.T, b *backends, routePath string, c Composite, opts ...Option) *Plan {
	t.Helper()
	p, err := New("orders", routePath, c, append([]Option{WithTransports(b.transport)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Three calls, one depending on another's answer: the merged document, the
// dependent call after its dependency, the independent one overlapping.
func TestThreeCallsWithDependency(t *testing.T) {
	const delay = 150 * time.Millisecond
	var gotHeaders atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(delay, `{"id":"o1","customer_id":"c/7","total":12.5}`),
		"customers": func(w http.ResponseWriter, r *http.Request) {
			gotHeaders.Store(r.Header.Clone())
			jsonHandler(delay, `{"name":"Ada","vip":true}`)(w, r)
		},
		"recs": jsonHandler(delay, `{"items":[{"sku":"a"},{"sku":"b"}],"page":1}`),
	})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, b, "/orders/{id}", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}", Group: "customer"},
		{Name: "recs", Upstream: "recs", Path: "/recs", Query: map[string]string{"for": "{id}", "lang": "{query.lang}"}, Pick: "items", Group: "recommendations"},
	}}, WithMetrics(m))
	code, _, doc := serve(t, p, "/orders/{id}", "/orders/o1?lang=fr", "X-Request-Id", "rid-1", "X-Consumer-Id", "alice",
		"Connection", "X-Hop", "X-Hop", "secret")
	if code != 200 {
		t.Fatalf("status %d: %v", code, doc)
	}
	want := `{"customer":{"name":"Ada","vip":true},"customer_id":"c/7","id":"o1","recommendations":[{"sku":"a"},{"sku":"b"}],"total":12.5}`
	if got, _ := json.Marshal(doc); string(got) != want {
		t.Errorf("merged\n got %s\nwant %s", got, want)
	}
	order, customer, recs := b.span("orders /orders/o1"), b.span("customers /customers/c/7"), b.span("recs /recs")
	if customer[0].Before(order[1]) {
		t.Error("customer was called before the order answered")
	}
	if !recs[0].Before(order[1]) || !order[0].Before(recs[1]) {
		t.Error("order and recs did not overlap: independent calls ran one after the other")
	}
	h := gotHeaders.Load().(http.Header)
	if h.Get("X-Request-Id") != "rid-1" || h.Get("X-Consumer-Id") != "alice" || h.Get("X-Hop") != "" || h.Get("Connection") != "" {
		t.Errorf("headers sent to a call: %v", h)
	}
	if n := testutil.ToFloat64(m.calls.WithLabelValues("orders", "customer", "ok")); n != 1 {
		t.Errorf("calls_total{customer,ok} = %v", n)
	}
	if n := testutil.CollectAndCount(m.duration); n != 3 {
		t.Errorf("%d duration series, want 3", n)
	}
}

// An optional call that fails is left out, and the answer says so.
func TestOptionalCallPartial(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"id":"o1"}`),
		"recs":   func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) },
		"html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<p>")
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o"},
		{Name: "recs", Upstream: "recs", Path: "/r", Optional: true, Group: "recs"},
		{Name: "page", Upstream: "html", Path: "/p", Optional: true},
		{Name: "more", Upstream: "orders", Path: "/more/{recs.id}", Optional: true}, // needs the failed one
	}})
	code, hdr, doc := serve(t, p, "/o", "/o")
	if code != 200 || doc["id"] != "o1" {
		t.Fatalf("%d %v", code, doc)
	}
	if got := fmt.Sprint(doc["_partial"]); got != "[recs page more]" {
		t.Errorf("_partial = %s", got)
	}
	if got := hdr.Get(PartialHeader); got != "recs, page, more" {
		t.Errorf("%s = %q", PartialHeader, got)
	}
}

// A required call that fails fails the request at once, naming the call,
// and the calls still running are cancelled.
func TestRequiredFailureCancelsOthers(t *testing.T) {
	cancelled, started := make(chan struct{}), make(chan struct{})
	b := newBackends(t, map[string]http.HandlerFunc{
		// The failure comes once the slow call is under way: one that was
		// cancelled before it was sent would never reach its server.
		"orders": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-started:
			case <-time.After(5 * time.Second):
			}
			http.Error(w, "boom", 500)
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			close(started)
			select {
			case <-r.Context().Done():
				close(cancelled)
			case <-time.After(10 * time.Second):
			}
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o"},
		{Name: "slow", Upstream: "slow", Path: "/s"},
	}})
	code, hdr, doc := serve(t, p, "/o", "/o")
	if code != 502 || doc["call"] != "order" || !strings.Contains(fmt.Sprint(doc["detail"]), "answered 500") ||
		!strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%d %v", code, doc)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow call was not cancelled")
	}
}

func TestTimeoutAndSizeBound(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"slow": jsonHandler(5*time.Second, `{}`),
		"big":  jsonHandler(0, `{"blob":"`+strings.Repeat("x", 2048)+`"}`),
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "slow", Upstream: "slow", Path: "/s", Timeout: "50ms"}}})
	if code, _, doc := serve(t, p, "/o", "/o"); code != 504 || doc["call"] != "slow" {
		t.Errorf("timeout: %d %v", code, doc)
	}
	p = mustPlan(t, b, "/o", Composite{MaxAnswerBytes: 1024, Calls: []Call{{Name: "big", Upstream: "big", Path: "/b"}}})
	if code, _, doc := serve(t, p, "/o", "/o"); code != 502 || !strings.Contains(fmt.Sprint(doc["detail"]), "larger than 1024 bytes") {
		t.Errorf("size: %d %v", code, doc)
	}
}

// for_each runs a call per element, bounded, collected in order.
func TestForEach(t *testing.T) {
	var inFlight, peak atomic.Int32
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"items":[{"sku":"a"},{"sku":"b"},{"sku":"c"},{"sku":"../admin"}]}`),
		"catalog": func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.EscapedPath()})
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Hidden: true},
		{Name: "products", Upstream: "catalog", Path: "/products/{item.sku}", ForEach: "order.items", Workers: 2, Group: "products"},
	}})
	code, _, doc := serve(t, p, "/o", "/o")
	if code != 200 {
		t.Fatalf("%d %v", code, doc)
	}
	got, _ := json.Marshal(doc)
	// Values are path-escaped: an answer cannot walk the upstream's path.
	want := `{"products":[{"path":"/products/a"},{"path":"/products/b"},{"path":"/products/c"},{"path":"/products/..%2Fadmin"}]}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if n := peak.Load(); n > 2 || n < 1 {
		t.Errorf("peak concurrency %d, want at most workers=2", n)
	}
	p = mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o"},
		{Name: "products", Upstream: "catalog", Path: "/products/{item.sku}", ForEach: "order.items", MaxItems: 3},
	}})
	if code, _, doc := serve(t, p, "/o", "/o"); code != 502 || !strings.Contains(fmt.Sprint(doc["detail"]), "more than max_items 3") {
		t.Errorf("max_items: %d %v", code, doc)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		comp Composite
		want string
	}{
		{"cycle", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{b.x}"}, {Name: "b", Upstream: "u", Path: "/{c.x}"}, {Name: "c", Upstream: "u", Path: "/{a.x}"}}},
			"calls[0]: calls depend on each other in a cycle: a → b → c → a"},
		{"unknown call", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{nope.x}"}}}, `calls[0].path: {nope.x}: "nope" is not a call (calls: a)`},
		{"unknown param", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{idd}"}}}, `calls[0].path: {idd} is neither a path parameter of "/o/{id}" nor a call`},
		{"unknown upstream", Composite{Calls: []Call{{Name: "a", Upstream: "x", Path: "/"}}}, `calls[0].upstream: "x" is not defined`},
		{"reserved", Composite{Calls: []Call{{Name: "query", Upstream: "u", Path: "/"}}}, `calls[0].name: "query" is reserved`},
		{"self", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{a.x}"}}}, "a call cannot use its own answer"},
		{"item without for_each", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{item.x}"}}}, "only defined with for_each"},
		{"bad template", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{id"}}}, "calls[0].path: unclosed {"},
		{"duplicate", Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/"}, {Name: "a", Upstream: "u", Path: "/"}}}, `calls[1].name: "a" is already the name of calls[0]`},
		{"no calls", Composite{}, "calls: at least one call is required"},
	} {
		errs := c.comp.Validate("/o/{id}", []string{"u"})
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: got %q, want %q", c.name, all, c.want)
		}
	}
	ok := Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: "/{id}"}, {Name: "b", Upstream: "u", Path: "/{a.x.0}", Query: map[string]string{"q": "{query.q}"}}}}
	if errs := ok.Validate("/o/{id}", []string{"u"}); len(errs) > 0 {
		t.Errorf("valid composite refused: %v", errs)
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"/a/{id}", "/{order.items.0.id}/x", "{", "}", "{}", "{a..b}", "/{query.q}?{header.X-Y}", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTemplate(s)
		if err != nil {
			return
		}
		// Rendering the template's own text back gives the input.
		var b strings.Builder
		for _, p := range tm.parts {
			if p.ref == nil {
				b.WriteString(p.literal)
			} else {
				b.WriteString("{" + p.ref.String() + "}")
			}
		}
		if b.String() != s {
			t.Fatalf("round trip %q -> %q", s, b.String())
		}
	})
}

// TestNumbersKeepTheirText: numbers pass through as the upstream wrote them —
// a 64-bit id beyond float64's 2^53 stays exact in the merged answer and in
// a dependent call's path — and a decimal or exponent in a path is written
// without exponent noise.
func TestNumbersKeepTheirText(t *testing.T) {
	var customerPath, scorePath atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"customer_id":9007199254740993,"score":1e3,"ratio":0.1,"big":123456789012345678901234567890}`),
		"customers": func(w http.ResponseWriter, r *http.Request) {
			customerPath.Store(r.URL.Path)
			jsonHandler(0, `{"name":"Ada"}`)(w, r)
		},
		"scores": func(w http.ResponseWriter, r *http.Request) {
			scorePath.Store(r.URL.Path)
			jsonHandler(0, `{}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/orders/{id}", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}", Group: "customer"},
		{Name: "score", Upstream: "scores", Path: "/scores/{order.score}/{order.ratio}", Hidden: true},
	}})
	r := chi.NewRouter()
	r.Handle("/orders/{id}", p)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/orders/o1", nil))
	want := `{"big":123456789012345678901234567890,"customer":{"name":"Ada"},"customer_id":9007199254740993,"ratio":0.1,"score":1e3}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("merged %d\n got %s\nwant %s", rec.Code, rec.Body, want)
	}
	if got := customerPath.Load(); got != "/customers/9007199254740993" {
		t.Errorf("dependent call's path %v", got)
	}
	if got := scorePath.Load(); got != "/scores/1000/0.1" {
		t.Errorf("path from a decimal and an exponent %v", got)
	}
}

// TestForEachEndsWithTheRequest: when another call's failure cancels the
// request, for_each waits for its calls in flight before the answer goes
// out, so none of its work outlives the request.
func TestForEachEndsWithTheRequest(t *testing.T) {
	started := make(chan struct{}, 10)
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"items":[{"sku":"a"},{"sku":"b"},{"sku":"c"}]}`),
		"catalog": func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			<-r.Context().Done() // answers only when the gateway gives up
		},
		"broken": func(w http.ResponseWriter, r *http.Request) {
			<-started // fail once a for_each call is in flight
			started <- struct{}{}
			w.WriteHeader(http.StatusInternalServerError)
		},
	})
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Hidden: true},
		{Name: "products", Upstream: "catalog", Path: "/products/{item.sku}", ForEach: "order.items", Workers: 1},
		{Name: "stock", Upstream: "broken", Path: "/stock"},
	}}, WithMetrics(m))
	if code, _, doc := serve(t, p, "/o", "/o"); code != http.StatusBadGateway {
		t.Fatalf("%d %v", code, doc)
	}
	// Read at once: a call still in flight would not have been counted yet.
	if n := testutil.ToFloat64(m.calls.WithLabelValues("orders", "products", "cancelled")); n != 1 {
		t.Errorf("products calls ended and counted when the answer went out: %v, want 1", n)
	}
}
