package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatescale/gatescale/gateway/reload"
)

// The admin listener serves the applied revision at /config and as a
// metric; a changed listen address is applied with the rest of the file
// only after a restart, and /config says so.
func TestConfigStatusOnAdmin(t *testing.T) {
	a := backend(t, "a")
	path := filepath.Join(t.TempDir(), "gatescale.yaml")
	write := func(s string) {
		if err := os.WriteFile(path+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	routes := "admin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: [" + a + "]\nroutes:\n  - {name: a, path_prefix: /a, upstream: a}\n"
	first := "listen: 127.0.0.1:0\n" + routes
	write(first)

	srv := startServe(t, "-config", path, "-watch", "20ms")
	url, logs := srv.url, srv.logs
	admin := srv.admin(t)

	status := func() reload.Status { t.Helper(); return srv.status(t) }
	if s := status(); s.Revision != reload.Revision([]byte(first)) || s.Source != path || len(s.RestartRequired) != 0 {
		t.Errorf("status %+v", s)
	}
	if _, body := get(admin + "/metrics"); !strings.Contains(body, `gatescale_config_revision_info{revision="`+reload.Revision([]byte(first))+`"} 1`) {
		t.Errorf("no revision metric in /metrics")
	}

	next := "listen: 127.0.0.1:1\n" + strings.Replace(routes, "/a,", "/b,", 1)
	write(next)
	waitUntil(t, "the new revision", func() bool { return status().Revision == reload.Revision([]byte(next)) })
	if s := status(); len(s.RestartRequired) != 1 || s.RestartRequired[0] != "listen" {
		t.Errorf("restart_required = %q", s.RestartRequired)
	}
	if code, body := get(url + "/b/x"); code != 200 || body != "a /b/x" {
		t.Errorf("the rest of the file was not applied: GET /b/x = %d %q", code, body)
	}
	if !strings.Contains(logs.String(), `"restart_required":["listen"]`) {
		t.Errorf("no warning naming listen:\n%s", logs.String())
	}

	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// logged returns the attribute key of the first JSON log line with msg.
func logged(t *testing.T, logs, msg, key string) string {
	t.Helper()
	for line := range strings.SplitSeq(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			if v, ok := rec[key].(string); ok {
				return v
			}
		}
	}
	t.Fatalf("no log line %q with %s:\n%s", msg, key, logs)
	return ""
}

// A revision refused because a file it names is not there yet (a secret
// mounted after the configuration) is applied on its own once the file
// appears: no SIGHUP, no new write of the configuration file. The refusal
// is logged once, not at every attempt.
func TestRefusedBuildRetriedUntilFileAppears(t *testing.T) {
	a := backend(t, "a")
	dir := t.TempDir()
	path, secret := filepath.Join(dir, "gatescale.yaml"), filepath.Join(dir, "hs256.secret")
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(name+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			t.Fatal(err)
		}
	}
	base := "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: [" + a + "]\n"
	first := base + "routes:\n  - {name: a, path_prefix: /a, upstream: a}\n"
	write(path, first)

	srv := startServe(t, "-config", path, "-watch", "20ms")
	url, logs := srv.url, srv.logs
	status := func() reload.Status { t.Helper(); return srv.status(t) }

	next := base + "auth:\n  jwt:\n    idp: {issuer: https://idp.test, audiences: [shop], algorithms: [HS256], secret_file: " + secret + "}\n" +
		"routes:\n  - {name: a, path_prefix: /a, upstream: a}\n  - {name: b, path_prefix: /b, upstream: a, auth: {methods: [jwt]}}\n"
	write(path, next)
	waitUntil(t, "the refusal of the revision naming the missing secret", func() bool {
		s := status()
		return s.RefusedRevision == reload.Revision([]byte(next)) && strings.Contains(s.LastError, "auth.jwt.idp.secret_file")
	})
	if code, _ := get(url + "/b/x"); code != http.StatusNotFound {
		t.Fatalf("GET /b/x = %d before the revision applied, want 404", code)
	}

	key := "0123456789abcdef0123456789abcdef"
	write(secret, key+"\n")
	waitUntil(t, "the revision applied once the secret is there", func() bool { return status().Revision == reload.Revision([]byte(next)) })
	if s := status(); s.LastError != "" || s.RefusedRevision != "" {
		t.Errorf("status after the retry applied: %+v", s)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.test", "aud": "shop", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url+"/b/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "a /b/x" {
		t.Errorf("GET /b/x with a token signed by the secret = %d %q", resp.StatusCode, body)
	}
	if code, _ := get(url + "/b/x"); code != http.StatusUnauthorized {
		t.Errorf("GET /b/x without a token = %d, want 401", code)
	}
	if n := strings.Count(logs.String(), "configuration refused"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once:\n%s", n, logs.String())
	}

	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
