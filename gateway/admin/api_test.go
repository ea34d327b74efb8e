package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/internal/consultest"
)

var secrets = map[string]string{"viewer": "s-viewer", "operator": "s-operator", "admin": "s-admin"}

func testTokens(t *testing.T) *admin.Tokens {
	t.Helper()
	var list []admin.Token
	for role, s := range secrets {
		list = append(list, admin.Token{Name: role + "-bot", SHA256: admin.HashToken(s), Role: role})
	}
	tk, err := admin.NewTokens(list...)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

type apiFixture struct {
	t     *testing.T
	srv   *httptest.Server
	store admin.Store
	reg   *prometheus.Registry
}

func newAPI(t *testing.T, st admin.Store, opts admin.Options) *apiFixture {
	t.Helper()
	if st == nil {
		st = admin.NewFile(filepath.Join(t.TempDir(), "state.json"))
	}
	if _, err := st.Save(context.Background(), 0, sample("127.0.0.1:9", "base"), admin.Change{Actor: "seed"}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if opts.Tokens == nil {
		opts.Tokens = testTokens(t)
	}
	opts.Registry = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	api, err := admin.NewAPI(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &apiFixture{t: t, srv: srv, store: st, reg: reg}
}

type answer struct {
	code int
	etag string
	body map[string]any
	raw  string
}

func (f *apiFixture) do(role, method, path, ifMatch, body string) answer { // role: a role of secrets, or a secret
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if s, ok := secrets[role]; ok {
		req.Header.Set("Authorization", "Bearer "+s)
	} else if role != "" {
		req.Header.Set("Authorization", "Bearer "+role)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, etag: resp.Header.Get("ETag"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (f *apiFixture) etag() string {
	f.t.Helper()
	return f.do("viewer", "GET", "/admin/config", "", "").etag
}

// Every endpoint × role: no token 401, bad token 401, a role too low 403,
// enough 2xx.
func TestEndpointRoles(t *testing.T) {
	store, err := cache.NewStore(cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := newAPI(t, nil, admin.Options{AuthFailures: ratelimit.Limit{Rate: 1000, Period: time.Second}, PurgeCache: store.PurgePrefix})
	routeBody := `{"path_prefix":"/x","upstream":"b"}`
	upBody := `{"instances":["127.0.0.1:8"]}`
	cases := []struct {
		method, path, body string
		need               string
	}{
		{"GET", "/admin/config", "", "viewer"},
		{"GET", "/admin/revisions", "", "viewer"},
		{"GET", "/admin/revisions/1", "", "viewer"},
		{"GET", "/admin/revisions/1/diff", "", "viewer"},
		{"GET", "/admin/whoami", "", "viewer"},
		{"GET", "/admin/upstreams", "", "viewer"},
		{"GET", "/admin/upstreams/b", "", "viewer"},
		{"GET", "/admin/routes", "", "viewer"},
		{"GET", "/admin/routes/base", "", "viewer"},
		{"GET", "/admin/consumers", "", "viewer"},
		{"PUT", "/admin/consumers/c1", `{"roles":["r"]}`, "operator"},
		{"GET", "/admin/consumers/c1", "", "viewer"},
		{"POST", "/admin/consumers/c1/keys", "", "operator"},
		{"PUT", "/admin/routes/x", routeBody, "operator"},
		{"DELETE", "/admin/routes/x", "", "operator"},
		{"DELETE", "/admin/consumers/c1", "", "operator"},
		{"PUT", "/admin/upstreams/u2", upBody, "admin"},
		{"DELETE", "/admin/upstreams/u2", "", "admin"},
		{"POST", "/admin/rollback/1", "", "admin"},
		{"GET", "/admin/tokens", "", "admin"},
		{"PUT", "/admin/tokens/t1", `{"role":"viewer"}`, "admin"},
		{"DELETE", "/admin/tokens/t1", "", "admin"},
		{"POST", "/admin/cache/purge", `{"prefix":"/"}`, "operator"},
	}
	// The cases are every operation of the OpenAPI document (written from
	// the table that registers the handlers), with the role it states.
	documented := openAPIOperations(t, f)
	for _, c := range cases {
		key := c.method + " " + c.path
		op, ok := matchOperation(documented, c.method, c.path)
		if !ok {
			t.Fatalf("%s is not in the OpenAPI document", key)
		}
		if documented[op] != c.need {
			t.Fatalf("%s: the document says role %s, the test %s", key, documented[op], c.need)
		}
		delete(documented, op)
	}
	if len(documented) > 0 {
		t.Fatalf("operations without a role test: %v", documented)
	}
	order := []string{"viewer", "operator", "admin"}
	for _, c := range cases {
		for _, who := range []string{"", "wrong-secret"} {
			if a := f.do(who, c.method, c.path, f.etag(), c.body); a.code != 401 {
				t.Fatalf("%s %s as %q: %d", c.method, c.path, who, a.code)
			}
		}
		allowed := false
		for _, role := range order {
			allowed = allowed || role == c.need
			if allowed {
				continue // tried below with the lowest allowed role only, not to repeat writes
			}
			if a := f.do(role, c.method, c.path, f.etag(), c.body); a.code != 403 {
				t.Fatalf("%s %s as %s: %d %s", c.method, c.path, role, a.code, a.raw)
			}
		}
		if a := f.do(c.need, c.method, c.path, f.etag(), c.body); a.code/100 != 2 {
			t.Fatalf("%s %s as %s: %d %s", c.method, c.path, c.need, a.code, a.raw)
		}
	}
	// Refusals are counted by reason.
	if n := counterValue(t, f.reg, "gatescale_admin_auth_failures_total", "forbidden"); n == 0 {
		t.Fatal("no forbidden count")
	}
	if n := counterValue(t, f.reg, "gatescale_admin_auth_failures_total", "missing"); n != float64(len(cases)) {
		t.Fatalf("missing count %v", n)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Writes: strict decoding, If-Match required and checked, validation of the
// whole candidate with JSON pointers, and a refused change changes nothing.
func TestWritesValidateAndCAS(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	tag := f.etag()
	// 428 without If-Match, 412 with a stale one.
	if a := f.do("operator", "PUT", "/admin/routes/x", "", `{"path_prefix":"/x","upstream":"b"}`); a.code != 428 {
		t.Fatalf("no If-Match: %d", a.code)
	}
	if a := f.do("operator", "PUT", "/admin/routes/x", `"99"`, `{"path_prefix":"/x","upstream":"b"}`); a.code != 412 {
		t.Fatalf("stale If-Match: %d", a.code)
	}
	// Unknown field, at depth, with its pointer.
	a := f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","auth":{"methods":["jwt"],"bogus":1}}`)
	if a.code != 400 || pointers(a) != "/auth/bogus" {
		t.Fatalf("unknown field: %d %s", a.code, a.raw)
	}
	a = f.do("admin", "PUT", "/admin/upstreams/u", tag, `{"instances":[{"addr":"127.0.0.1:1","wieght":3}]}`)
	if a.code != 400 || pointers(a) != "/instances/0/wieght" {
		t.Fatalf("unknown field inside an instance: %d %s", a.code, a.raw)
	}
	// Validation of the whole candidate: the pointer is into the state.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"nope","methods":["G T"]}`)
	if a.code != 422 || a.body["errors"] == nil || !strings.Contains(pointers(a), "/routes/1/upstream") || !strings.Contains(pointers(a), "/routes/1/methods/0") {
		t.Fatalf("validation: %d %s", a.code, a.raw)
	}
	// An upstream's settings go through the same validation as the file's.
	a = f.do("admin", "PUT", "/admin/upstreams/u", tag, `{"instances":["127.0.0.1:1"],"panic_threshold":150}`)
	if a.code != 422 || pointers(a) != "/upstreams/u/panic_threshold" || !strings.Contains(a.raw, "must be a percentage from 0 (off) to 100, not 150") {
		t.Fatalf("panic_threshold out of range: %d %s", a.code, a.raw)
	}
	// A route's ip_access too, at the entry that is wrong.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","ip_access":{"allow":["10.0.0.0/8","10.0.0.0/33"]}}`)
	if a.code != 422 || pointers(a) != "/routes/1/ip_access/allow/1" || !strings.Contains(a.raw, `\"10.0.0.0/33\" is not a prefix`) {
		t.Fatalf("ip_access entry: %d %s", a.code, a.raw)
	}
	// A route's CORS policy too: credentials with any origin, at its pointer.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","cors":{"allow_origins":["*"],"allow_credentials":true}}`)
	if a.code != 422 || pointers(a) != "/routes/1/cors/allow_origins/0" || !strings.Contains(a.raw, "cannot be combined with allow_credentials") {
		t.Fatalf("cors credentials with any origin: %d %s", a.code, a.raw)
	}
	// And its header rules: a header the gateway owns, at its pointer.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","headers":{"request":{"set":{"Host":"other"}}}}`)
	if a.code != 422 || pointers(a) != "/routes/1/headers/request/set/Host" || !strings.Contains(a.raw, "preserve_host") {
		t.Fatalf("header rule on Host: %d %s", a.code, a.raw)
	}
	// A route's mirror: an undefined upstream, at its pointer.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b","mirror":{"upstream":"nope","percent":20}}`)
	if a.code != 422 || pointers(a) != "/routes/1/mirror/upstream" || !strings.Contains(a.raw, `\"nope\" is not defined`) {
		t.Fatalf("mirror upstream: %d %s", a.code, a.raw)
	}
	// Deleting an upstream a route uses is refused the same way.
	a = f.do("admin", "DELETE", "/admin/upstreams/b", tag, "")
	if a.code != 422 || !strings.Contains(pointers(a), "/routes/0/upstream") {
		t.Fatalf("delete a used upstream: %d %s", a.code, a.raw)
	}
	if f.etag() != tag {
		t.Fatal("a refused change changed the revision")
	}
	// A good one: 201, new ETag; the audit log names the actor.
	a = f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b"}`)
	if a.code != 201 || a.etag != `"2"` || a.body["name"] != "x" {
		t.Fatalf("create: %d %s %s", a.code, a.etag, a.raw)
	}
	a = f.do("viewer", "GET", "/admin/revisions?actor=operator-bot", "", "")
	var log []admin.Entry
	_ = json.Unmarshal([]byte(a.raw), &log)
	if len(log) != 1 || log[0].Revision != 2 || log[0].Summary[0] != "+route/x" {
		t.Fatalf("audit: %s", a.raw)
	}
	if a = f.do("viewer", "GET", "/admin/revisions/2", "", ""); a.code != 200 || a.body["actor"] != "operator-bot" {
		t.Fatalf("revision 2: %d %s", a.code, a.raw)
	}
	// The state at revision 1 is kept; rolling back to it is a new
	// revision, through the same checks.
	if a = f.do("viewer", "GET", "/admin/revisions/1", "", ""); a.body["config"] == nil {
		t.Fatalf("revision 1 has no state: %s", a.raw)
	}
	if a = f.do("admin", "POST", "/admin/rollback/1", "", ""); a.code != 428 {
		t.Fatalf("rollback without If-Match: %d", a.code)
	}
	if a = f.do("admin", "POST", "/admin/rollback/1", `"2"`, ""); a.code != 200 || a.etag != `"3"` {
		t.Fatalf("rollback: %d %s", a.code, a.raw)
	}
	if a = f.do("viewer", "GET", "/admin/routes/x", "", ""); a.code != 404 {
		t.Fatalf("route x after rollback: %d", a.code)
	}
	if a = f.do("admin", "POST", "/admin/rollback/99", `"3"`, ""); a.code != 404 {
		t.Fatalf("rollback to an unknown revision: %d", a.code)
	}
	if a = f.do("operator", "PUT", "/admin/routes/x", `"3"`, `{"path_prefix":"/x","upstream":"b"}`); a.code != 201 {
		t.Fatalf("re-create: %d %s", a.code, a.raw)
	}
	// Name in the body must match the path.
	if a = f.do("operator", "PUT", "/admin/routes/y", `"4"`, `{"name":"z","path_prefix":"/y","upstream":"b"}`); a.code != 422 || pointers(a) != "/name" {
		t.Fatalf("name mismatch: %d %s", a.code, a.raw)
	}
}

// Two API writers from the same ETag: one 2xx, the other 412; the winner's
// change is in the state (Consul store, CAS in its transaction).
func TestAPIConcurrentWritersConsul(t *testing.T) {
	agent := consultest.Start(t)
	f := newAPI(t, admin.NewConsul(agent.Client, "gs/api"), admin.Options{})
	for round := range 5 {
		tag := f.etag()
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for w := range 2 {
			wg.Go(func() {
				codes[w] = f.do("operator", "PUT", fmt.Sprintf("/admin/routes/r%d-%d", round, w), tag, fmt.Sprintf(`{"path_prefix":"/r%d-%d","upstream":"b"}`, round, w)).code
			})
		}
		wg.Wait()
		won := -1
		for w, c := range codes {
			if c == 201 {
				won = w
			} else if c != 412 {
				t.Fatalf("round %d: codes %v", round, codes)
			}
		}
		if won < 0 || codes[0] == codes[1] {
			t.Fatalf("round %d: codes %v", round, codes)
		}
		if a := f.do("viewer", "GET", fmt.Sprintf("/admin/routes/r%d-%d", round, won), "", ""); a.code != 200 {
			t.Fatalf("winner's route: %d", a.code)
		}
	}
	// Consul down: reads and writes answer 503 with a problem body.
	agent.Stop()
	a := f.do("operator", "PUT", "/admin/routes/down", `"6"`, `{"path_prefix":"/down","upstream":"b"}`)
	if a.code != 503 || !strings.Contains(a.body["detail"].(string), "cannot be reached") {
		t.Fatalf("write with Consul down: %d %s", a.code, a.raw)
	}
	agent.Restart()
	// A Consul just restarted may answer from before its log is applied
	// (an empty state, revision 0) until its leader has caught up: the
	// write is refused then, safely (412), and goes through once Consul
	// serves its state again.
	for deadline := time.Now().Add(30 * time.Second); f.etag() != `"6"`; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Consul restarted does not serve the state at revision 6 after 30s: ETag %s", f.etag())
		}
	}
	if a = f.do("operator", "PUT", "/admin/routes/down", `"6"`, `{"path_prefix":"/down","upstream":"b"}`); a.code != 201 {
		t.Fatalf("after restart: %d %s", a.code, a.raw)
	}
}

func pointers(a answer) string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["pointer"].(string))
	}
	return strings.Join(out, " ")
}

// A new key is shown once; only its hash is stored, and it authenticates
// as the consumer.
func TestConsumerKeys(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	if a := f.do("operator", "PUT", "/admin/consumers/alice", f.etag(), `{}`); a.code != 201 {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	a := f.do("operator", "POST", "/admin/consumers/alice/keys", f.etag(), `{"id":"alice-1"}`)
	key, _ := a.body["key"].(string)
	if a.code != 201 || !strings.HasPrefix(key, "gsk_") {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	st, _ := f.store.Load(context.Background())
	raw, _ := json.Marshal(st)
	if bytes.Contains(raw, []byte(key)) {
		t.Fatal("the key itself was stored")
	}
	m, err := consumer.NewMemory(st.Config.Consumers)
	if err != nil {
		t.Fatal(err)
	}
	c, keyID, err := m.ByAPIKey(context.Background(), consumer.HashKey(key))
	if err != nil || c == nil || c.ID != "alice" || keyID != "alice-1" {
		t.Fatalf("lookup: %v %v %q", c, err, keyID)
	}
	if a = f.do("viewer", "GET", "/admin/consumers/alice", "", ""); strings.Contains(a.raw, key) {
		t.Fatal("GET shows the key")
	}
}

// Failed authentications beyond the limit get 429 from that address, even
// with a good token, until the bucket refills.
func TestBruteForceThrottled(t *testing.T) {
	f := newAPI(t, nil, admin.Options{AuthFailures: ratelimit.Limit{Rate: 3, Period: time.Hour}})
	for range 3 {
		if a := f.do("guess", "GET", "/admin/config", "", ""); a.code != 401 {
			t.Fatalf("%d", a.code)
		}
	}
	f.do("guess", "GET", "/admin/config", "", "")
	if a := f.do("admin", "GET", "/admin/config", "", ""); a.code != 429 {
		t.Fatalf("after too many failures: %d", a.code)
	}
	if counterValue(t, f.reg, "gatescale_admin_auth_failures_total", "throttled") == 0 {
		t.Fatal("throttling not counted")
	}
}

// Route lifecycle through the API: draft needs the preview header,
// deprecated adds headers, retired answers 410; retired → draft is 409.
func TestRouteLifecycle(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	st := admin.NewFile(filepath.Join(t.TempDir(), "state.json"))
	st.Every = 20 * time.Millisecond
	if _, err := st.Save(context.Background(), 0, sample(backend.Listener.Addr().String(), "base"), admin.Change{}); err != nil {
		t.Fatal(err)
	}
	api, err := admin.NewAPI(st, admin.Options{Tokens: testTokens(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	f := &apiFixture{t: t, srv: srv, store: st}
	r := startReplica(t, st)
	put := func(state string) answer {
		return f.do("operator", "PUT", "/admin/routes/v1", f.etag(), `{"path_prefix":"/v1","upstream":"b","lifecycle":{"state":"`+state+`","successor":"/v2"}}`)
	}
	status := func(preview bool) (int, http.Header) {
		req, _ := http.NewRequest("GET", r.srv.URL+"/v1/x", nil)
		if preview {
			req.Header.Set("X-Gatescale-Preview", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if a := put("draft"); a.code != 201 {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	waitUntil(t, "draft with preview", 5*time.Second, func() bool { c, _ := status(true); return c == 200 })
	if c, _ := status(false); c != 404 {
		t.Fatalf("draft without preview: %d", c)
	}
	before := time.Now().Unix()
	put("deprecated")
	after := time.Now().Unix()
	deprecatedAt := f.etag()
	waitUntil(t, "deprecated", 5*time.Second, func() bool { _, h := status(false); return h.Get("Deprecation") != "" })
	// Deprecated without a since date: the time of the transition is
	// recorded in the state, so the Deprecation date (RFC 9745) survives
	// restarts and other replicas send the same one.
	lc, _ := f.do("viewer", "GET", "/admin/routes/v1", "", "").body["lifecycle"].(map[string]any)
	since, err := time.Parse(time.RFC3339, fmt.Sprint(lc["since"]))
	if err != nil || since.Unix() < before || since.Unix() > after {
		t.Fatalf("lifecycle.since after the transition: %v (%v), want the time of the PUT", lc["since"], err)
	}
	if _, h := status(false); h.Get("Deprecation") != "@"+strconv.FormatInt(since.Unix(), 10) {
		t.Fatalf("Deprecation %q, want @%d", h.Get("Deprecation"), since.Unix())
	}
	// Deprecated calls are counted by consumer (anonymous here).
	if n := deprecatedCalls(t, r.reg, "v1", "(anonymous)"); n < 1 {
		t.Fatalf("deprecated calls counted: %v", n)
	}
	put("retired")
	waitUntil(t, "retired", 5*time.Second, func() bool { c, _ := status(false); return c == 410 })
	if a := put("draft"); a.code != 409 || pointers(a) != "/lifecycle/state" {
		t.Fatalf("retired → draft: %d %s", a.code, a.raw)
	}
	if a := put("bogus"); a.code != 409 && a.code != 422 {
		t.Fatalf("bogus state: %d %s", a.code, a.raw)
	}
	// Rollback restores the deprecated revision exactly, and the data path
	// serves it again.
	n := strings.Trim(deprecatedAt, `"`)
	if a := f.do("admin", "POST", "/admin/rollback/"+n, f.etag(), ""); a.code != 200 {
		t.Fatalf("rollback: %d %s", a.code, a.raw)
	}
	want := f.do("viewer", "GET", "/admin/revisions/"+n, "", "").body["config"]
	got := f.do("viewer", "GET", "/admin/config", "", "").body
	if !reflect.DeepEqual(want, any(got)) {
		t.Fatalf("rolled-back state differs:\nwant %v\ngot  %v", want, got)
	}
	waitUntil(t, "deprecated again", 5*time.Second, func() bool { c, h := status(false); return c == 200 && h.Get("Deprecation") != "" })
}

// deprecatedCalls is the deprecated-calls counter of route and consumer.
func deprecatedCalls(t *testing.T, reg *prometheus.Registry, route, consumer string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatescale_deprecated_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["consumer"] == consumer {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Tokens managed through the API, kept by the store (shared by replicas):
// the secret is shown once, works with its role, and stops working when
// deleted.
func TestTokensThroughAPI(t *testing.T) {
	stores(t, func(t *testing.T, st admin.Store) {
		f := newAPI(t, st, admin.Options{})
		a := f.do("admin", "PUT", "/admin/tokens/ci", "", `{"role":"operator"}`)
		secret, _ := a.body["token"].(string)
		if a.code != 201 || !strings.HasPrefix(secret, "gsa_") {
			t.Fatalf("create: %d %s", a.code, a.raw)
		}
		if a = f.do("admin", "PUT", "/admin/tokens/x", "", `{"role":"root"}`); a.code != 422 {
			t.Fatalf("bad role: %d", a.code)
		}
		if a = f.do(secret, "PUT", "/admin/routes/ci", f.etag(), `{"path_prefix":"/ci","upstream":"b"}`); a.code != 201 {
			t.Fatalf("the new token as operator: %d %s", a.code, a.raw)
		}
		if a = f.do(secret, "PUT", "/admin/upstreams/u", f.etag(), `{"instances":["127.0.0.1:1"]}`); a.code != 403 {
			t.Fatalf("the new token on upstreams: %d", a.code)
		}
		if a = f.do(secret, "GET", "/admin/tokens", "", ""); a.code != 403 {
			t.Fatalf("operator lists tokens: %d", a.code)
		}
		a = f.do("admin", "GET", "/admin/tokens", "", "")
		if a.code != 200 || !strings.Contains(a.raw, `"ci"`) || strings.Contains(a.raw, admin.HashToken(secret)) || strings.Contains(a.raw, secret) {
			t.Fatalf("list: %d %s", a.code, a.raw)
		}
		if a = f.do("admin", "DELETE", "/admin/tokens/ci", "", ""); a.code != 200 {
			t.Fatalf("delete: %d", a.code)
		}
		if a = f.do(secret, "GET", "/admin/config", "", ""); a.code != 401 {
			t.Fatalf("deleted token: %d", a.code)
		}
		// Tokens are not the state: no revision was made for them.
		if f.etag() != `"2"` {
			t.Fatalf("etag %s", f.etag())
		}
	})
}

// A member given twice is refused with its pointer: encoding/json would
// keep the last one silently (also for names differing only in case, which
// it matches to the same field), so what was applied is not what a
// reviewer of the body read.
func TestRepeatedMembersRefused(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	tag := f.etag()
	for _, c := range []struct{ role, path, body, ptr string }{
		{"operator", "/admin/routes/x", `{"path_prefix":"/x","path_prefix":"/y","upstream":"b"}`, "/path_prefix"},
		{"operator", "/admin/routes/x", `{"path_prefix":"/x","upstream":"b","Upstream":"b"}`, "/upstream"},
		{"admin", "/admin/upstreams/u", `{"instances":[{"addr":"127.0.0.1:1","addr":"127.0.0.1:2"}]}`, "/instances/0/addr"},
		{"operator", "/admin/consumers/c", `{"id":"c","metadata":{"plan":"free","plan":"gold"}}`, "/metadata/plan"},
	} {
		if a := f.do(c.role, "PUT", c.path, tag, c.body); a.code != 400 || pointers(a) != c.ptr {
			t.Errorf("%s: %d %s", c.body, a.code, a.raw)
		}
	}
	if f.etag() != tag {
		t.Fatal("a body with a repeated member was applied")
	}
}

// A write refused because the state moved on says which revision the
// state is at, whether the If-Match was stale when it arrived or the write
// lost the race in the store, so the client can re-read from there.
func TestConflictNamesCurrentRevision(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	if a := f.do("operator", "PUT", "/admin/routes/x", `"1"`, `{"path_prefix":"/x","upstream":"b"}`); a.code != 201 {
		t.Fatalf("create: %d %s", a.code, a.raw)
	}
	a := f.do("operator", "PUT", "/admin/routes/y", `"1"`, `{"path_prefix":"/y","upstream":"b"}`)
	if a.code != 412 || a.body["revision"] != float64(2) {
		t.Fatalf("stale If-Match: %d %s", a.code, a.raw)
	}
	for round := range 10 {
		tag := f.etag()
		var wg sync.WaitGroup
		answers := make([]answer, 4)
		for w := range answers {
			wg.Go(func() {
				answers[w] = f.do("operator", "PUT", fmt.Sprintf("/admin/routes/r%d-%d", round, w), tag, fmt.Sprintf(`{"path_prefix":"/r%d-%d","upstream":"b"}`, round, w))
			})
		}
		wg.Wait()
		for _, a := range answers {
			if a.code == 412 && a.body["revision"] == nil {
				t.Fatalf("round %d: 412 without the revision: %s", round, a.raw)
			}
		}
	}
}

// A body over the admin API's limit is 413, not a 400 that reads as
// malformed JSON; a weak If-Match never matches (RFC 9110 13.1.1: If-Match
// compares strongly), so nothing is written with it.
func TestBodyLimitAndWeakIfMatch(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	tag := f.etag()
	big := `{"path_prefix":"/x","upstream":"b","metadata":{"pad":"` + strings.Repeat("x", admin.MaxBody) + `"}}`
	if a := f.do("operator", "PUT", "/admin/routes/x", tag, big); a.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over MaxBody: %d %s", a.code, a.raw)
	}
	if a := f.do("operator", "PUT", "/admin/routes/x", "W/"+tag, `{"path_prefix":"/x","upstream":"b"}`); a.code != http.StatusPreconditionFailed || !strings.Contains(a.raw, "weak") {
		t.Fatalf("a weak If-Match: %d %s", a.code, a.raw)
	}
	if f.etag() != tag {
		t.Fatal("a refused write was applied")
	}
	if a := f.do("operator", "PUT", "/admin/routes/x", tag, `{"path_prefix":"/x","upstream":"b"}`); a.code/100 != 2 {
		t.Fatalf("the same write with the strong tag: %d %s", a.code, a.raw)
	}
}
