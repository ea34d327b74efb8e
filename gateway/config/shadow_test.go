package config_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
)

// The route shadowing findings of a file are warnings at the less-protected
// route's place in the file, or errors with route_shadowing: refuse.
func TestParseRouteShadowing(t *testing.T) {
	doc := `upstreams:
  app: {instances: ["127.0.0.1:1"]}
consumers:
  - {id: ops, api_keys: [{id: k, sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}]}
routes:
  - {name: admin, path: /admin, upstream: app, auth: {methods: [api_key]}, case_insensitive: true}
  - {name: public, path_prefix: /, upstream: app}
`
	l, err := config.Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// case_insensitive closes /ADMIN; /admin/ and /admin.json remain.
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Error()[:strings.Index(w.Error(), ": this route")])
	}
	want := []string{"t.yaml:7:33: routes[1].path_prefix: route shadowing (trailing_slash)", "t.yaml:7:33: routes[1].path_prefix: route shadowing (suffix)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(l.Warnings) > 0 && !strings.Contains(l.Warnings[0].Message, `declare route "admin" with path_prefix: /admin instead of path`) {
		t.Errorf("fix: %s", l.Warnings[0].Message)
	}

	_, err = config.Parse("t.yaml", []byte("route_shadowing: refuse\n"+doc))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:8:33: routes[1].path_prefix: route shadowing (trailing_slash)") {
		t.Errorf("refuse: %v", err)
	}
}

// The finding is real: through a running gateway, /ADMIN/secret reaches a
// case-insensitive upstream's protected resource without a key; with the
// fix the check suggests, the same request is refused and the finding gone.
func TestRouteShadowingFindingIsRealAndTheFixCloses(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.ToLower(r.URL.Path) == "/admin/secret" { // an upstream that ignores case (IIS, Express)
			io.WriteString(w, "the secret")
			return
		}
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	doc := func(caseInsensitive bool) string {
		return fmt.Sprintf(`upstreams:
  app: {instances: ["%s"]}
consumers:
  - {id: ops, api_keys: [{id: k, sha256: %s}]}
routes:
  - {name: admin, path_prefix: /admin, upstream: app, auth: {methods: [api_key]}, case_insensitive: %v}
  - {name: public, path_prefix: /, upstream: app}
`, strings.TrimPrefix(upstream.URL, "http://"), consumer.HashKey("k"), caseInsensitive)
	}
	rt := live.NewRuntime()
	defer rt.Close()
	gw, err := gateway.New(gateway.WithAccessLog(false))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	hasCase := func(ws []*config.Error) bool {
		for _, w := range ws {
			if strings.Contains(w.Message, "route shadowing (case)") {
				return true
			}
		}
		return false
	}

	l, err := config.Parse("t.yaml", []byte(doc(false)))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Apply(t.Context(), gw, rt); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/admin/secret"); code != 401 {
		t.Fatalf("/admin/secret without a key: %d", code)
	}
	if code, body := get("/ADMIN/secret"); code != 200 || body != "the secret" || !hasCase(l.Warnings) {
		t.Fatalf("the hole: /ADMIN/secret = %d %q; warned: %v", code, body, hasCase(l.Warnings))
	}

	l, err = config.Parse("t.yaml", []byte(doc(true)))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Apply(t.Context(), gw, rt); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/ADMIN/secret"); code != 401 || hasCase(l.Warnings) {
		t.Errorf("with case_insensitive: /ADMIN/secret = %d; still warned: %v", code, hasCase(l.Warnings))
	}
}
