package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/console"
)

// With -admin-tokens the console is served next to the admin API, with its
// tokens: the page itself to anyone (it holds no secret), its data only to
// a token.
func TestServeConsole(t *testing.T) {
	_, adminURL, stop := adminServe(t, "grafana", "v13wer", "viewer")
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
}
