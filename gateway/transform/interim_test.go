package transform

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"testing"
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
	var mu sync.Mutex
	var hints []string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		hints = append(hints, http.StatusText(code)+": "+h.Get("Link"))
		return nil
	}})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
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
	mu.Lock()
	defer mu.Unlock()
	if len(hints) != 1 || hints[0] != "Early Hints: </a.css>; rel=preload" {
		t.Errorf("interim answers %q", hints)
	}
}
