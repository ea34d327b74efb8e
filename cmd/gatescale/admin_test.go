package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// adminServe runs `gatescale run` with a file admin store seeded from a
// config with one route (/a) and a tokens file of one token; it returns the
// gateway's and the admin listener's URLs and stop, which shuts the command
// down and checks it ended cleanly.
func adminServe(t *testing.T, token, secret, role string) (url, adminURL string, stop func()) {
	t.Helper()
	a := backend(t, "a")
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	cfg := "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: [" + a + "]\nroutes:\n  - {name: a, path_prefix: /a, upstream: a}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := `{"tokens":[{"name":"` + token + `","sha256":"` + admin.HashToken(secret) + `","role":"` + role + `"}]}`
	if err := os.WriteFile(filepath.Join(dir, "tokens.json"), []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "-config", path, "-admin-store", "file:"+filepath.Join(dir, "state.json"), "-admin-tokens", filepath.Join(dir, "tokens.json"))
	return srv.url, srv.admin(t), func() {
		if err := srv.end(); err != nil {
			t.Fatalf("serve: %v", err)
		}
	}
}

// -admin-store file:PATH seeds the store from the file and serves it;
// -admin-tokens serves the admin API, whose writes the gateway applies.
func TestServeFromAdminStore(t *testing.T) {
	url, adminURL, stop := adminServe(t, "ops", "s3cret", "operator")
	if code, _ := get(url + "/a/x"); code != 200 {
		t.Fatalf("seeded route: %d", code)
	}
	if code, _ := get(adminURL + "/admin/config"); code != 401 {
		t.Fatalf("admin API without a token: %d", code)
	}
	req, _ := http.NewRequest("PUT", adminURL+"/admin/routes/b", strings.NewReader(`{"path_prefix":"/b","upstream":"a"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("If-Match", `"1"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("PUT route: %d", resp.StatusCode)
	}
	waitUntil(t, "the new route", func() bool { code, _ := get(url + "/b/x"); return code == 200 })
	stop()
}

func TestAdminFlagsRefused(t *testing.T) {
	if err := serve(context.Background(), []string{"-admin-tokens", "x"}, &logcapture.Buffer{}, nil); err == nil {
		t.Fatal("-admin-tokens without -admin-store accepted")
	}
	path := filepath.Join(t.TempDir(), "g.yaml")
	_ = os.WriteFile(path, []byte("listen: 127.0.0.1:0\n"), 0o600)
	if err := serve(context.Background(), []string{"-config", path, "-admin-store", "s3:x"}, &logcapture.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "file:PATH") {
		t.Fatalf("bad store: %v", err)
	}
}
