package reload_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/reload"
)

// Content refused because a file it names cannot be read yet is applied
// on its own once the file appears: no signal, no new content. The refusal
// is logged once, each retry is counted, and the status says a retry is
// under way.
func TestLoopRetriesUntilTheFileAppears(t *testing.T) {
	f := newFixture(t, 5*time.Millisecond, "one")
	f.run()
	key := filepath.Join(t.TempDir(), "key.pem")
	content := "needs " + key
	f.write(content)
	f.waitFor("three retries", func() bool { r := f.loop.Status().Retry; return r != nil && r.Retries >= 3 })

	s := f.loop.Status()
	rev := reload.Revision([]byte(content))
	if s.Revision != reload.Revision([]byte("one")) || s.RefusedRevision != rev || !strings.Contains(s.LastError, "no such file") ||
		s.Retry.Revision != rev || s.Retry.NextAt.IsZero() {
		t.Errorf("status while retrying: %+v, retry %+v", s, s.Retry)
	}
	// Each attempt is a reload refused: the first and every retry.
	// The counter first: an attempt is counted after it is made.
	e := counter(t, f.reg, "test_config_reloads_total", "error")
	if n := f.attemptsOf(content); n < 4 || e < 4 || e > float64(n) {
		t.Errorf("%d attempts, reloads{error} = %v: want at least 4, and no more counted than made", n, e)
	}
	if v := gauge(t, f.reg, "test_config_last_reload_successful"); v != 0 {
		t.Errorf("last_reload_successful = %v while refused", v)
	}
	rec := httptest.NewRecorder()
	f.loop.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/config", nil))
	var js struct {
		Retry map[string]any `json:"retry"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &js); err != nil || js.Retry["revision"] != rev || js.Retry["retries"] == nil || js.Retry["next_at"] == nil {
		t.Errorf("status JSON: %s", rec.Body.String())
	}

	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the content applied", func() bool { return f.loop.Status().Revision == rev })
	if s := f.loop.Status(); s.LastError != "" || s.RefusedRevision != "" || s.Retry != nil {
		t.Errorf("status after the retry applied: %+v", s)
	}
	if v := gauge(t, f.reg, "test_config_last_reload_successful"); v != 1 {
		t.Errorf("last_reload_successful = %v", v)
	}
	if v := counter(t, f.reg, "test_config_reloads_total", "ok"); v != 1 {
		t.Errorf("reloads{ok} = %v", v)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "configuration refused"); n != 1 {
		t.Errorf("the refusal logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "new error") || !strings.Contains(logs, "retry_in=") {
		t.Errorf("logs:\n%s", logs)
	}
	if !strings.Contains(logs, `msg="configuration reloaded"`) || !strings.Contains(logs, "retries=") {
		t.Errorf("the applying retry not logged with its count:\n%s", logs)
	}
	if got := f.applied(); len(got) != 2 || got[1] != content {
		t.Errorf("applied %q", got)
	}
}

// A retry ends when newer content arrives: good content applies and the
// old content is not tried again, even once what it needed appears; new
// content that also needs a file takes the retry over.
func TestLoopRetrySupersededByNewContent(t *testing.T) {
	f := newFixture(t, 5*time.Millisecond, "one")
	f.run()
	dir := t.TempDir()
	old := "needs " + filepath.Join(dir, "old.pem")
	f.write(old)
	f.waitFor("a retry of the old content", func() bool { r := f.loop.Status().Retry; return r != nil && r.Retries >= 1 })

	f.write("two")
	f.waitFor("two applied", func() bool { return f.loop.Status().Revision == reload.Revision([]byte("two")) })
	if s := f.loop.Status(); s.Retry != nil {
		t.Fatalf("the old content still retried after two applied: %+v", s.Retry)
	}
	tried := f.attemptsOf(old)
	if err := os.WriteFile(filepath.Join(dir, "old.pem"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Newer content that needs another file: it is retried, the old is not.
	next := "needs " + filepath.Join(dir, "next.pem")
	f.write(next)
	f.waitFor("retries of the newer content", func() bool {
		r := f.loop.Status().Retry
		return r != nil && r.Revision == reload.Revision([]byte(next)) && r.Retries >= 3
	})
	if n := f.attemptsOf(old); n != tried {
		t.Errorf("the superseded content was applied %d more times", n-tried)
	}
	if s := f.loop.Status(); s.Revision != reload.Revision([]byte("two")) {
		t.Errorf("revision in force %s, want two's", s.Revision)
	}
}

// Invalid content is refused once and not retried: only new content can
// change it. A second Loop on the same schedule, refused for a missing
// file, makes retries meanwhile: the first had every chance to retry.
func TestLoopDoesNotRetryInvalidContent(t *testing.T) {
	bad := newFixture(t, 5*time.Millisecond, "one")
	bad.run()
	missing := newFixture(t, 5*time.Millisecond, "one")
	missing.run()
	bad.write("bad content")
	bad.waitFor("the refusal", func() bool { return bad.loop.Status().LastError != "" })
	if s := bad.loop.Status(); s.Retry != nil {
		t.Errorf("invalid content scheduled for a retry: %+v", s.Retry)
	}
	missing.write("needs " + filepath.Join(t.TempDir(), "none.pem"))
	missing.waitFor("five retries of the other loop", func() bool { r := missing.loop.Status().Retry; return r != nil && r.Retries >= 5 })

	if n := bad.attemptsOf("bad content"); n != 1 {
		t.Errorf("invalid content applied %d times, want once", n)
	}
	if v := counter(t, bad.reg, "test_config_reloads_total", "error"); v != 1 {
		t.Errorf("reloads{error} = %v, want 1", v)
	}
	if s := bad.loop.Status(); s.Retry != nil || s.LastError != "c.yaml:1:1: bad content" {
		t.Errorf("status: %+v", s)
	}
}

// Content the start-up load refused for a missing file is retried once
// Run runs.
func TestLoadRefusalRetriedByRun(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.pem")
	content := "needs " + key
	f := newFixture(t, 0, content)
	if err := f.loop.Load(context.Background()); err == nil {
		t.Fatal("Load applied content whose file is missing")
	}
	if s := f.loop.Status(); s.Retry == nil || s.Retry.Revision != reload.Revision([]byte(content)) {
		t.Fatalf("status after Load: %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.loop.Run(ctx) }()
	defer func() { cancel(); <-done }()
	f.waitFor("a retry", func() bool { r := f.loop.Status().Retry; return r != nil && r.Retries >= 1 })
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the content applied", func() bool { return f.loop.Status().Revision == reload.Revision([]byte(content)) })
}

func TestRetryableMarksTheErrorItWraps(t *testing.T) {
	if reload.Retryable(nil) != nil {
		t.Error("Retryable(nil) is not nil")
	}
	inner := os.ErrNotExist
	err := reload.Retryable(inner)
	if err.Error() != inner.Error() || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Retryable(%v) = %v", inner, err)
	}
}

// A failure to read the source (a file missing mid-replace, a store
// unreachable) says nothing of the content being retried: the retries go
// on, and it applies once what it needs is there.
func TestLoopRetryOutlivesReadError(t *testing.T) {
	f := newFixture(t, 0, "one")
	trigger := make(chan struct{})
	f.file.Trigger = trigger
	f.run()
	key := filepath.Join(t.TempDir(), "key.pem")
	content := "needs " + key
	f.write(content)
	trigger <- struct{}{}
	f.waitFor("a retry", func() bool { r := f.loop.Status().Retry; return r != nil && r.Retries >= 1 })
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	trigger <- struct{}{}
	// The log, not the status: a retry may replace the error there first.
	f.waitFor("the read error", func() bool { return strings.Contains(f.logs.String(), "c.yaml: no such file") })
	before := f.loop.Status().Retry
	if before == nil || before.Revision != reload.Revision([]byte(content)) {
		t.Fatalf("the retry ended with a read error: %+v", f.loop.Status())
	}
	f.waitFor("a retry after the read error", func() bool { r := f.loop.Status().Retry; return r != nil && r.Retries > before.Retries })
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the content applied", func() bool { return f.loop.Status().Revision == reload.Revision([]byte(content)) })
}

// A forced reload (SIGHUP) of the content in force, refused because a
// file it names is not there yet (a key being rotated), is retried like
// any other: the polls that read the same content meanwhile do not end
// the retry nor clear the error, and the reload is done once the file is
// back.
func TestLoopRetryOfForcedReloadOutlivesPolls(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(key, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	content := "needs " + key
	f := newFixture(t, 5*time.Millisecond, content)
	trigger := make(chan struct{})
	f.file.Trigger = trigger
	f.run()
	if err := os.Remove(key); err != nil { // mid-rotation
		t.Fatal(err)
	}
	trigger <- struct{}{}
	f.waitFor("the forced reload", func() bool { return f.attemptsOf(content) >= 2 })
	// Two more handled: at least one is a poll after the forced reload.
	polls := f.handled.Load()
	f.waitFor("polls of the unchanged file", func() bool { return f.handled.Load() >= polls+2 })
	if s := f.loop.Status(); s.Retry == nil || !strings.Contains(s.LastError, "no such file") {
		t.Fatalf("after polls of the content in force: retry %+v, last error %q; want the retry going on and its error", s.Retry, s.LastError)
	}

	if err := os.WriteFile(key, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the forced reload done by a retry", func() bool { return len(f.applied()) == 2 })
	f.waitFor("the status cleared", func() bool { s := f.loop.Status(); return s.Retry == nil && s.LastError == "" })
	if logs := f.logs.String(); !strings.Contains(logs, "retries=") {
		t.Errorf("the applying retry not logged with its count:\n%s", logs)
	}
}
