package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The example must do what its doc says: proxy /users/*, keep /hello
// local, and count the proxied requests in /metrics.
func TestQuickstartRouter(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "users backend saw "+r.URL.Path)
	}))
	defer backend.Close()
	srv := httptest.NewServer(newRouter([]string{strings.TrimPrefix(backend.URL, "http://")}))
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/users/42"); code != 200 || body != "users backend saw /users/42" {
		t.Fatalf("GET /users/42 = %d %q", code, body)
	}
	if code, body := get("/hello"); code != 200 || !strings.Contains(body, "hello from my service") {
		t.Fatalf("GET /hello = %d %q", code, body)
	}
	_, metrics := get("/metrics")
	if !strings.Contains(metrics, `gatescale_http_requests_total{code="200",method="GET",route="users"} 1`) {
		t.Fatalf("metrics do not count the proxied request:\n%s", metrics)
	}
}
