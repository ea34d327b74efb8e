package reload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/internal/logcapture"
)

// fixture is a Loop over a real file, applying whatever does not start
// with "bad"; content "needs PATH" applies only once the file PATH can be
// read (a Retryable error until then), as a key file named by a
// configuration.
type fixture struct {
	t        *testing.T
	path     string
	file     *reload.File
	loop     *reload.Loop
	reg      *prometheus.Registry
	logs     *logcapture.Buffer
	mu       sync.Mutex
	calls    []string       // contents applied, in order
	attempts map[string]int // apply calls by content, refused ones included
	// handled counts the file's deliveries the loop has handled.
	handled atomic.Int64
}

// countedSource is the fixture's file, counting the deliveries the loop
// has handled, so a test can wait for the next poll to be dealt with.
type countedSource struct {
	*reload.File
	handled *atomic.Int64
}

func (s countedSource) Watch(ctx context.Context, update func(reload.Update)) {
	s.File.Watch(ctx, func(u reload.Update) { update(u); s.handled.Add(1) })
}

func newFixture(t *testing.T, every time.Duration, initial string) *fixture {
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "c.yaml"), reg: prometheus.NewRegistry(), logs: &logcapture.Buffer{}, attempts: map[string]int{}}
	f.write(initial)
	m, err := reload.NewMetrics(f.reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.file = reload.NewFile(f.path, every)
	f.loop = reload.NewLoop(countedSource{f.file, &f.handled}, func(_ context.Context, data []byte) (reload.Result, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.attempts[string(data)]++
		if bytes.HasPrefix(data, []byte("bad")) {
			return reload.Result{}, errors.New("c.yaml:1:1: bad content")
		}
		if key, ok := bytes.CutPrefix(data, []byte("needs ")); ok {
			if _, err := os.ReadFile(string(key)); err != nil {
				return reload.Result{}, reload.Retryable(fmt.Errorf("c.yaml:1:7: %w", err))
			}
		}
		f.calls = append(f.calls, string(data))
		return reload.Result{Attrs: []slog.Attr{slog.Int("bytes", len(data))}}, nil
	}, reload.Options{Metrics: m, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Retry: reload.Backoff{First: 5 * time.Millisecond, Max: 20 * time.Millisecond}})
	return f
}

// run loads and runs the loop until the test ends.
func (f *fixture) run() {
	if err := f.loop.Load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.loop.Run(ctx) }()
	f.t.Cleanup(func() { cancel(); <-done })
	<-f.file.Watching()
}

// write replaces the file by a rename, as editors and ConfigMap updates do.
func (f *fixture) write(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.path+".tmp", []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) applied() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fixture) attemptsOf(content string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[content]
}

func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s; status %+v\nlogs:\n%s", what, f.loop.Status(), f.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) revisionMetric(rev string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "test_config_revision_info" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == rev {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func TestLoopAppliesChanges(t *testing.T) {
	f := newFixture(t, 10*time.Millisecond, "one")
	f.run()
	r1 := reload.Revision([]byte("one"))
	if s := f.loop.Status(); s.Revision != r1 || s.Source != f.path || s.AppliedAt.IsZero() || s.LastError != "" {
		t.Fatalf("status after Load: %+v", s)
	}
	if f.revisionMetric(r1) != 1 {
		t.Errorf("revision metric of %s not 1", r1)
	}

	f.write("two")
	r2 := reload.Revision([]byte("two"))
	f.waitFor("two to be applied", func() bool { return f.loop.Status().Revision == r2 })
	if got := f.applied(); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("applied %q", got)
	}
	if f.revisionMetric(r2) != 1 || f.revisionMetric(r1) != 0 {
		t.Errorf("revision metric: %s=%v %s=%v", r2, f.revisionMetric(r2), r1, f.revisionMetric(r1))
	}
	if v := counter(t, f.reg, "test_config_reloads_total", "ok"); v != 1 {
		t.Errorf("reloads ok = %v", v)
	}
	if !strings.Contains(f.logs.String(), "configuration reloaded") || !strings.Contains(f.logs.String(), "bytes=3") {
		t.Errorf("logs:\n%s", f.logs.String())
	}
}

// Unchanged content is not applied again, however often it is polled.
func TestLoopSkipsUnchangedContent(t *testing.T) {
	f := newFixture(t, 5*time.Millisecond, "same")
	f.run()
	f.write("same") // a new file with the same bytes
	time.Sleep(100 * time.Millisecond)
	if got := f.applied(); len(got) != 1 {
		t.Errorf("applied %d times: %q", len(got), got)
	}
}

// Bad content changes nothing: the last good revision stays, the error is
// in the status and counted once, and the next good content applies.
func TestLoopKeepsLastGoodRevision(t *testing.T) {
	f := newFixture(t, 10*time.Millisecond, "good")
	f.run()
	good := reload.Revision([]byte("good"))
	f.write("bad one")
	f.waitFor("the refusal", func() bool { return f.loop.Status().LastError != "" })
	time.Sleep(50 * time.Millisecond) // several polls of the same bad content
	s := f.loop.Status()
	if s.Revision != good || s.LastError != "c.yaml:1:1: bad content" || s.RefusedRevision != reload.Revision([]byte("bad one")) || s.LastErrorAt.IsZero() {
		t.Errorf("status: %+v", s)
	}
	if f.revisionMetric(good) != 1 {
		t.Error("revision metric lost the good revision")
	}
	if v := counter(t, f.reg, "test_config_reloads_total", "error"); v != 1 {
		t.Errorf("reloads error = %v, want 1 (once per bad content)", v)
	}
	if v := gauge(t, f.reg, "test_config_last_reload_successful"); v != 0 {
		t.Errorf("last_reload_successful = %v", v)
	}
	if n := strings.Count(f.logs.String(), "configuration refused"); n != 1 {
		t.Errorf("refusal logged %d times:\n%s", n, f.logs.String())
	}

	f.write("good again")
	f.waitFor("the good content", func() bool { return f.loop.Status().Revision == reload.Revision([]byte("good again")) })
	if s := f.loop.Status(); s.LastError != "" || s.RefusedRevision != "" {
		t.Errorf("error not cleared: %+v", s)
	}
	if v := gauge(t, f.reg, "test_config_last_reload_successful"); v != 1 {
		t.Errorf("last_reload_successful = %v", v)
	}
}

// SIGHUP reloads at once, unchanged content included (the files it names
// may have changed), whatever the poll interval.
func TestLoopReloadsOnSIGHUP(t *testing.T) {
	f := newFixture(t, time.Hour, "v1")
	f.run() // returns once SIGHUP is being handled
	f.write("v2")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	f.waitFor("v2 after SIGHUP", func() bool { return f.loop.Status().Revision == reload.Revision([]byte("v2")) })
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	f.waitFor("v2 applied again", func() bool { return len(f.applied()) == 3 })
}

// A trigger forces a reload as a signal does; a file that cannot be read
// then is reported (on a poll it is skipped: it is being replaced).
func TestLoopTrigger(t *testing.T) {
	f := newFixture(t, 5*time.Millisecond, "v1")
	trigger := make(chan struct{})
	f.file.Trigger = trigger
	f.run()
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if s := f.loop.Status(); s.LastError != "" {
		t.Fatalf("a missing file was reported on a poll: %+v", s)
	}
	trigger <- struct{}{}
	f.waitFor("the read error", func() bool { return strings.Contains(f.loop.Status().LastError, "no such file") })
	if f.loop.Status().Revision != reload.Revision([]byte("v1")) {
		t.Error("revision lost")
	}
}

func TestLoadError(t *testing.T) {
	f := newFixture(t, 0, "bad from the start")
	if err := f.loop.Load(context.Background()); err == nil || err.Error() != "c.yaml:1:1: bad content" {
		t.Fatalf("Load: %v", err)
	}
	if s := f.loop.Status(); s.Revision != "" || s.LastError == "" {
		t.Errorf("status: %+v", s)
	}
	if v := counter(t, f.reg, "test_config_reloads_total", "error"); v != 0 {
		t.Errorf("the start-up load counted as a reload: %v", v)
	}
	if strings.Contains(f.logs.String(), "refused") {
		t.Errorf("a start-up failure logged as a refusal (the caller reports it):\n%s", f.logs.String())
	}
	missing := reload.NewLoop(reload.NewFile(filepath.Join(t.TempDir(), "none.yaml"), 0), nil, reload.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := missing.Load(context.Background()); err == nil || !strings.HasSuffix(err.Error(), "none.yaml: no such file or directory") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// A gateway file whose listen address changed is applied, and the status
// and the log name listen as waiting for a restart.
func TestLoopRestartRequired(t *testing.T) {
	const routes = "upstreams: {u: {instances: [\"127.0.0.1:9001\"]}}\nroutes: [{name: r, path_prefix: /, upstream: u}]\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:8080\n"+routes), 0o600); err != nil {
		t.Fatal(err)
	}
	var running, current *config.Loaded
	var logs logcapture.Buffer
	file := reload.NewFile(path, 5*time.Millisecond)
	loop := reload.NewLoop(file, func(_ context.Context, data []byte) (reload.Result, error) {
		l, err := config.Parse(path, data)
		if err != nil {
			return reload.Result{}, err
		}
		if running == nil {
			running = l
		}
		current = l
		return reload.Result{RestartRequired: config.RestartRequired(running, l)}, nil
	}, reload.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := loop.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()

	next := "listen: 127.0.0.1:8081\n" + strings.Replace(routes, "path_prefix: /", "path_prefix: /v2", 1)
	if err := os.WriteFile(path+".tmp", []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for loop.Status().Revision != reload.Revision([]byte(next)) {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded: %+v", loop.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := loop.Status(); !slices.Equal(s.RestartRequired, []string{"listen"}) {
		t.Errorf("restart_required = %q", s.RestartRequired)
	}
	if current.Spec.Routes[0].PathPrefix != "/v2" {
		t.Error("the rest of the file was not applied")
	}
	// The status is published before the warning is logged: wait for it.
	for l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "restart_required=[listen]"); l = logs.String() {
		if time.Now().After(deadline) {
			t.Fatalf("no warning naming listen:\n%s", l)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The status as the admin listener serves it.
	rec := httptest.NewRecorder()
	loop.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/config", nil))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v %q", err, rec.Body.String())
	}
	if got["source"] != path || got["revision"] != reload.Revision([]byte(next)) || got["applied_at"] == nil ||
		len(got["restart_required"].([]any)) != 1 || got["last_error"] != nil {
		t.Errorf("status JSON: %s", rec.Body.String())
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{result=%q}", name, result)
	return 0
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Going back to the content in force after a refusal (an edit reverted, a
// file that was missing on SIGHUP back again) is the latest content read
// and it is in force: the error is cleared and last_reload_successful is 1
// again, not left at 0 until the next change.
func TestLoopErrorClearedWhenContentInForceReturns(t *testing.T) {
	f := newFixture(t, 5*time.Millisecond, "good")
	trigger := make(chan struct{})
	f.file.Trigger = trigger
	f.run()
	cleared := func() bool {
		return f.loop.Status().LastError == "" && gauge(t, f.reg, "test_config_last_reload_successful") == 1
	}

	f.write("bad edit")
	f.waitFor("the refusal", func() bool { return f.loop.Status().LastError != "" })
	f.write("good") // reverted
	f.waitFor("the error cleared after the revert", cleared)

	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	trigger <- struct{}{}
	f.waitFor("the read error", func() bool { return strings.Contains(f.loop.Status().LastError, "no such file") })
	f.write("good") // back, unchanged
	f.waitFor("the error cleared after the file came back", cleared)
	if s := f.loop.Status(); s.Revision != reload.Revision([]byte("good")) || s.RefusedRevision != "" || !s.LastErrorAt.IsZero() {
		t.Errorf("status: %+v", s)
	}
	if got := f.applied(); len(got) != 1 {
		t.Errorf("the content in force was applied again: %q", got)
	}
}
