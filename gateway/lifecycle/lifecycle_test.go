package lifecycle_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })

func serve(l spec.Lifecycle, preview bool) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/x", nil)
	if preview {
		req.Header.Set(lifecycle.PreviewHeader, "1")
	}
	lifecycle.Middleware(l)(ok).ServeHTTP(rec, req)
	return rec
}

func TestMiddleware(t *testing.T) {
	if rec := serve(spec.Lifecycle{State: "draft"}, false); rec.Code != 404 {
		t.Errorf("draft without preview: %d", rec.Code)
	}
	if rec := serve(spec.Lifecycle{State: "draft"}, true); rec.Code != 200 {
		t.Errorf("draft with preview: %d", rec.Code)
	}
	if rec := serve(spec.Lifecycle{State: "published"}, false); rec.Code != 200 || rec.Header().Get("Deprecation") != "" {
		t.Errorf("published: %d %v", rec.Code, rec.Header())
	}
	rec := serve(spec.Lifecycle{State: "deprecated", Since: "2026-01-01T00:00:00Z", Sunset: "2027-01-31T00:00:00Z", Successor: "/v2/x"}, false)
	if rec.Code != 200 || rec.Header().Get("Deprecation") != "@1767225600" || rec.Header().Get("Sunset") != "Sun, 31 Jan 2027 00:00:00 GMT" ||
		rec.Header().Get("Link") != `</v2/x>; rel="successor-version"` {
		t.Errorf("deprecated: %d %v", rec.Code, rec.Header())
	}
	rec = serve(spec.Lifecycle{State: "retired", Successor: "/v2/x"}, true)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 410 || body["successor"] != "/v2/x" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("retired: %d %s", rec.Code, rec.Body)
	}
}

func TestTransition(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"draft", "published", true}, {"published", "deprecated", true}, {"deprecated", "retired", true},
		{"deprecated", "published", true}, {"draft", "retired", true}, {"published", "published", true},
		{"retired", "draft", false}, {"retired", "published", false}, {"published", "draft", false}, {"deprecated", "draft", false},
	} {
		if err := lifecycle.Transition(c.from, c.to); (err == nil) != c.ok {
			t.Errorf("%s → %s: %v", c.from, c.to, err)
		}
	}
}

func TestValidation(t *testing.T) {
	c := &spec.Config{Upstreams: map[string]spec.Upstream{"b": {Instances: []spec.Instance{{Addr: "127.0.0.1:1"}}}},
		Routes: []spec.Route{{Name: "a", PathPrefix: "/a", Upstream: "b", Lifecycle: &spec.Lifecycle{State: "gone", Sunset: "soon"}}}}
	fields, _ := spec.FieldErrors(spec.Validate(c))
	var got []string
	for _, fe := range fields {
		got = append(got, fe.Pointer())
	}
	if len(got) != 2 || got[0] != "/routes/0/lifecycle/state" || got[1] != "/routes/0/lifecycle/sunset" {
		t.Errorf("pointers: %v", got)
	}
}

// TestDraftLooksUnrouted: a draft route is not there for callers without
// the preview header, so its 404 must be the route table's own for a path
// no route serves, byte for byte: a different detail told anyone probing
// that an unreleased API lives at the path.
func TestDraftLooksUnrouted(t *testing.T) {
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "v2", PathPrefix: "/v2"}, Handler: ok,
			Middleware: []func(http.Handler) http.Handler{lifecycle.Middleware(spec.Lifecycle{State: "draft"})}},
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		return rec
	}
	draft, unrouted := get("/v2/orders"), get("/v3/orders")
	if draft.Code != 404 || unrouted.Code != 404 {
		t.Fatalf("draft %d, unrouted %d; want 404 for both", draft.Code, unrouted.Code)
	}
	want := strings.Replace(unrouted.Body.String(), "/v3/orders", "/v2/orders", 1)
	if draft.Body.String() != want {
		t.Errorf("draft route answers %q, a path without a route %q", draft.Body.String(), want)
	}
}

// A deprecated route without since is sent the structured-field date RFC
// 9745 defines (not the old draft's "true"), at the latest the time the
// middleware was built: clients parsing a Date would drop "true".
func TestDeprecatedWithoutSince(t *testing.T) {
	before := time.Now().Unix()
	rec := serve(spec.Lifecycle{State: "deprecated"}, false)
	after := time.Now().Unix()
	v := rec.Header().Get("Deprecation")
	secs, err := strconv.ParseInt(strings.TrimPrefix(v, "@"), 10, 64)
	if !strings.HasPrefix(v, "@") || err != nil {
		t.Fatalf("Deprecation: %q, want @UNIX-SECONDS", v)
	}
	if secs < before || secs > after {
		t.Errorf("Deprecation: %q, want the build time (between @%d and @%d)", v, before, after)
	}
}
