package transform

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/gatescale/gatescale/internal/interim/interimtest"
)

// TestEarlyHints: a 103 before a JSON answer reaches the client through the
// transformer, and its fields do not reach the shaped final answer.
func TestEarlyHints(t *testing.T) {
	srv := front(t, mobileWeb(t).Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		jsonBackend(`{"id":1,"items":[{"id":1},{"id":2},{"id":3}]}`)(w, r)
	})
	var hints interimtest.Recorder
	req, _ := http.NewRequestWithContext(hints.Context(context.Background()), "GET", srv.URL+"/", nil)
	req.Header.Set("X-Client-Type", "mobile")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != `{"id":1,"items":[{"id":1},{"id":2}]}` || resp.Header.Get("Link") != "" {
		t.Fatalf("final: %d %s Link=%q", resp.StatusCode, body, resp.Header.Get("Link"))
	}
	if a := hints.Answers(); len(a) != 1 || a[0].Code != http.StatusEarlyHints || a[0].Header.Get("Link") != "</a.css>; rel=preload" {
		t.Errorf("interim answers %v", a)
	}
}
