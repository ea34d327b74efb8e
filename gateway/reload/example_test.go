package reload_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/reload"
)

// A program loads its file at start-up, then follows it: each new content
// is applied, bad content is refused and the last good revision stays.
func ExampleNewLoop() {
	dir, _ := os.MkdirTemp("", "reload")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.yaml")
	_ = os.WriteFile(path, []byte("greeting: hello\n"), 0o600)

	var greeting string
	apply := func(_ context.Context, data []byte) (reload.Result, error) {
		g, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "greeting: ")
		if !ok {
			return reload.Result{}, fmt.Errorf("%s: no greeting", path)
		}
		greeting = g
		return reload.Result{}, nil
	}
	loop := reload.NewLoop(reload.NewFile(path, time.Second), apply, reload.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := loop.Load(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// go loop.Run(ctx) follows the file until ctx ends.
	fmt.Println(greeting, loop.Status().Revision == reload.Revision([]byte("greeting: hello\n")))
	// Output: hello true
}

// Content that cannot apply for want of something outside it (a key file
// not there yet) is marked Retryable: the Loop applies it again on its
// own, Retry.First after the refusal and then twice as long each time up
// to Retry.Max, until it applies or newer content arrives. Content that is
// itself wrong is returned unmarked and waits for new content.
func ExampleRetryable() {
	dir, _ := os.MkdirTemp("", "reload")
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "key.pem")
	apply := func(_ context.Context, data []byte) (reload.Result, error) {
		if _, err := os.ReadFile(key); err != nil {
			return reload.Result{}, reload.Retryable(fmt.Errorf("key_file: %w", err))
		}
		return reload.Result{}, nil
	}
	loop := reload.NewLoop(staticSource("key_file: key.pem\n"), apply, reload.Options{
		Logger: slog.New(slog.DiscardHandler),
		Retry:  reload.Backoff{First: 10 * time.Millisecond, Max: 100 * time.Millisecond},
	})
	err := loop.Load(context.Background())
	fmt.Println(errors.Is(err, os.ErrNotExist), loop.Status().Retry != nil)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	_ = os.WriteFile(key, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o600)
	for deadline := time.Now().Add(10 * time.Second); loop.Status().Revision == "" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	s := loop.Status()
	fmt.Println(s.Revision != "", s.LastError == "", s.Retry == nil)
	// Output:
	// true true
	// true true true
}

// A File is polled every Every and reloaded at once on SIGHUP or on a
// receive on Trigger (an admin endpoint, a test).
func ExampleNewFile() {
	f := reload.NewFile("/etc/gatescale/gatescale.yaml", 2*time.Second)
	f.Trigger = make(chan struct{})
	fmt.Println(f)
	// Output: /etc/gatescale/gatescale.yaml
}

// The status, as served on the gateway's admin listener at /config.
func ExampleLoop_StatusHandler() {
	src := staticSource("listen: :8080\n")
	loop := reload.NewLoop(src, func(context.Context, []byte) (reload.Result, error) {
		return reload.Result{RestartRequired: []string{"listen"}}, nil
	}, reload.Options{Logger: slog.New(slog.DiscardHandler)})
	_ = loop.Load(context.Background())
	rec := httptest.NewRecorder()
	loop.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/config", nil))
	var s reload.Status
	_ = json.Unmarshal(rec.Body.Bytes(), &s)
	fmt.Println(s.Source, s.Revision, s.RestartRequired)
	// Output: inline 3467eb563586 [listen]
}

// The metrics are named after a namespace; the adapter uses
// gatescale_adapter, the gateway gatescale.
func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	if _, err := reload.NewMetrics(reg, "gatescale"); err != nil {
		fmt.Println(err)
		return
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		fmt.Println(mf.GetName())
	}
	// Output:
	// gatescale_config_last_reload_success_timestamp_seconds
	// gatescale_config_last_reload_successful
	// gatescale_config_reloads_total
}

func ExampleRevision() {
	fmt.Println(reload.Revision([]byte("listen: :8080\n")))
	// Output: 3467eb563586
}

// staticSource is a Source that never changes, as a test or a program with
// an embedded configuration might use.
type staticSource string

func (s staticSource) Read(context.Context) ([]byte, error) { return []byte(s), nil }
func (s staticSource) Watch(ctx context.Context, _ func(reload.Update)) {
	<-ctx.Done()
}
func (staticSource) String() string { return "inline" }
