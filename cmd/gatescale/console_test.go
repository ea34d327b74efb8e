package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/console"
)

// With -admin-tokens the console is served next to the admin API, with its
// tokens: the page itself to anyone (it holds no secret), its data only to
// a token.
func TestServeConsole(t *testing.T) {
	a := backend(t, "a")
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	cfg := "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: [" + a + "]\nroutes:\n  - {name: a, path_prefix: /a, upstream: a}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := `{"tokens":[{"name":"grafana","sha256":"` + admin.HashToken("v13wer") + `","role":"viewer"}]}`
	if err := os.WriteFile(filepath.Join(dir, "tokens.json"), []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	ctx, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-config", path, "-admin-store", "file:" + filepath.Join(dir, "state.json"),
			"-admin-tokens", filepath.Join(dir, "tokens.json")}, &logs, func(addr net.Addr) { addrc <- addr })
	}()
	select {
	case <-addrc:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, logs.String())
	}
	adminURL := "http://" + logged(t, logs.String(), "admin listening", "addr")
	resp, err := http.Get(adminURL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy {
		t.Fatalf("GET /console/: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if code, _ := get(adminURL + "/console/api/session"); code != 401 {
		t.Fatalf("console data without a token: %d", code)
	}
	req, _ := http.NewRequest("GET", adminURL+"/console/api/session", nil)
	req.Header.Set("Authorization", "Bearer v13wer")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"role":"viewer"`) {
		t.Fatalf("console session: %d %s", resp.StatusCode, body)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
