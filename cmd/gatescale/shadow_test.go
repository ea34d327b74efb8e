package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/reload"
)

// shadowed is the configuration: an API-key route for /admin and
// an anonymous catch-all in front of the same upstream.
const shadowed = `upstreams:
  app:
    instances: [127.0.0.1:1]
consumers:
  - id: ops
    api_keys: [{id: ops-1, sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}]
routes:
  - name: admin
    path_prefix: /admin
    upstream: app
    auth: {methods: [api_key]}
  - name: public
    path_prefix: /
    upstream: app
`

// gatescale validate prints the route shadowing warnings with their place
// in the file and still succeeds; with route_shadowing: refuse it fails.
func TestValidateReportsRouteShadowing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	if err := os.WriteFile(path, []byte(shadowed), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"validate", "-config", path}, &out, io.Discard); err != nil {
		t.Fatalf("validate: %v", err)
	}
	got := out.String()
	for _, want := range []string{
		"warning: " + path + ":13:18: routes[1].path_prefix: route shadowing (case): this route serves GET /ADMIN",
		`Fix: set case_insensitive: true on route "admin"`,
		"route shadowing (suffix)",
		path + ": ok, 2 warning(s)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("validate output lacks %q:\n%s", want, got)
		}
	}

	if err := os.WriteFile(path, []byte("route_shadowing: refuse\n"+shadowed), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(context.Background(), []string{"validate", "-config", path}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), path+":14:18: routes[1].path_prefix: route shadowing (case)") {
		t.Fatalf("validate with refuse: %v (output %q)", err, out.String())
	}
}

// A running gateway logs the warnings at load and lists them in the reload
// status; fixing the configuration clears them on reload.
func TestRouteShadowingWarningsInReloadStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatescale.yaml")
	write := func(s string) {
		if err := os.WriteFile(path+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	head := "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\n"
	write(head + shadowed)
	srv := startServe(t, "-config", path, "-watch", "20ms")
	logs := srv.logs
	status := func() reload.Status { t.Helper(); return srv.status(t) }
	s := status()
	if len(s.Warnings) != 2 || !strings.Contains(s.Warnings[0], "routes[1].path_prefix: route shadowing (case)") {
		t.Errorf("status warnings %q", s.Warnings)
	}
	if w := logged(t, logs.String(), "configuration applied with a warning", "warning"); !strings.Contains(w, "route shadowing (case)") {
		t.Errorf("logged warning %q", w)
	}

	// Reviewed: the upstream is case-sensitive and has no suffix matching.
	fixed := strings.Replace(shadowed, "auth: {methods: [api_key]}", "auth: {methods: [api_key]}\n    shadowing_accepted: [public]", 1)
	write(head + fixed)
	waitUntil(t, "the reviewed revision", func() bool { return status().Revision == reload.Revision([]byte(head+fixed)) })
	if s := status(); len(s.Warnings) != 0 {
		t.Errorf("warnings after the review: %q", s.Warnings)
	}
	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// With an admin store the revisions come from the store: their warnings are
// in the reload status too, placed by JSON pointer.
func TestRouteShadowingWarningsFromAdminStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\n"+shadowed), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "-config", path, "-admin-store", "file:"+filepath.Join(dir, "state.json"))
	s := srv.status(t)
	if len(s.Warnings) != 2 || !strings.HasPrefix(s.Warnings[0], "/routes/1/path_prefix: route shadowing (case)") {
		t.Errorf("status warnings %q", s.Warnings)
	}
	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
