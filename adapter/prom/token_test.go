package prom

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescale/gatescale/internal/logcapture"
)

// TestTokenFileUnreadableKeepsLastToken: a token file that cannot be read
// any more (a rotation replacing it, a volume remounted) after a good read
// does not fail the requests: the last token is sent, and one warning is
// logged, not one per request. A new token is sent once the file is back,
// and a later failure warns again. The file is removed rather than made
// unreadable, as tests may run as root, whom chmod does not stop.
func TestTokenFileUnreadableKeepsLastToken(t *testing.T) {
	var auth atomic.Value
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs logcapture.Buffer
	newClient := func() *Client {
		c, err := New(Config{URL: srv.URL, BearerTokenFile: tokenFile, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		c.http.Transport.(*bearer).every = 0 // re-read on every request
		return c
	}
	query := func(c *Client, want string) {
		t.Helper()
		if _, err := c.Query(context.Background(), "up", time.Now()); err != nil {
			t.Fatalf("query: %v", err)
		}
		if got := auth.Load(); got != want {
			t.Errorf("Authorization %q, want %q", got, want)
		}
	}
	warnings := func() int {
		return strings.Count(logs.String(), "bearer token file")
	}

	write("tok-1")
	c := newClient()
	query(c, "Bearer tok-1")
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	query(c, "Bearer tok-1")
	query(c, "Bearer tok-1")
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings for the unreadable token file, want 1:\n%s", n, logs.String())
	}
	write("tok-2")
	query(c, "Bearer tok-2")
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	query(c, "Bearer tok-2")
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings, want 2: a failure after the file came back warns again:\n%s", n, logs.String())
	}

	// Never read: no token to keep, the request fails saying why.
	before := requests.Load()
	_, err := newClient().Query(context.Background(), "up", time.Now())
	if err == nil || !strings.Contains(err.Error(), "bearer token file") {
		t.Errorf("a token file never read: %v, want the read error", err)
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("%d requests sent without the token", n)
	}
}
