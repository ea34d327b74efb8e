package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The access_log section end to end: lines go to the file it names; after
// the file is renamed (logrotate) a SIGHUP makes new lines land in a new
// file of that name, none lost; a reload changes the format and the
// exclusions without a restart; buffered lines are written when the
// process stops.
func TestAccessLogRotationAndReload(t *testing.T) {
	a := backend(t, "a")
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	logPath := filepath.Join(dir, "access.log")
	write := func(s string) {
		if err := os.WriteFile(path+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	base := "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndrain_period: 50ms\nupstreams:\n  a:\n    instances: [" + a + "]\nroutes:\n  - {name: a, path_prefix: /, upstream: a}\n"
	write(base + "access_log:\n  fields: [path, status]\n  exclude_paths: [/healthz]\n  output: " + logPath + "\n")

	srv := startServe(t, "-config", path, "-watch", "20ms")
	url, logs := srv.url, srv.logs
	lines := func(p string) []string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	get(url + "/healthz")
	get(url + "/one")
	if got := lines(logPath); len(got) != 1 || !regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"request","path":"/one","status":200\}$`).MatchString(got[0]) {
		t.Fatalf("access.log: %q", got)
	}
	if strings.Contains(logs.String(), `"/one"`) {
		t.Error("the access log also went to stderr")
	}

	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	get(url + "/two") // still the renamed file: nothing lost
	hupped := strings.Count(logs.String(), "configuration reloaded")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The reload, not the file: the new file is opened before the switch
	// to it, and a request between the two is logged to the old one.
	waitUntil(t, "the reload after SIGHUP", func() bool { return strings.Count(logs.String(), "configuration reloaded") > hupped })
	if _, err := os.Stat(logPath); err != nil {
		t.Fatalf("no new access.log after the reload: %v", err)
	}
	get(url + "/three")
	if old, cur := lines(logPath+".1"), lines(logPath); len(old) != 2 || !strings.Contains(old[1], "/two") ||
		len(cur) != 1 || !strings.Contains(cur[0], "/three") {
		t.Errorf("rotated %q, new %q", old, cur)
	}

	reloads := strings.Count(logs.String(), "configuration reloaded")
	write(base + "access_log:\n  format: common\n  exclude_paths: [\"/skip/*\"]\n  output: " + logPath + "\n")
	// The reload's log line too: it comes after the switch, and the next
	// step counts reloads from here.
	waitUntil(t, "the reload to the common format", func() bool { return strings.Count(logs.String(), "configuration reloaded") > reloads })
	common := regexp.MustCompile(`^127\.0\.0\.1 - - \[[^]]+\] "GET /four HTTP/1\.1" 200 \d+$`)
	waitUntil(t, "the common format after a reload", func() bool {
		get(url + "/skip/x")
		get(url + "/four")
		cur := lines(logPath)
		return common.MatchString(cur[len(cur)-1])
	})
	for _, l := range lines(logPath) {
		if strings.Contains(l, "/skip/") && !strings.HasPrefix(l, "{") {
			t.Errorf("excluded path logged under the new section: %q", l)
		}
	}

	// Buffered, with a flush interval far beyond the test: the lines of
	// the requests served meanwhile reach the file when the process stops.
	reloads = strings.Count(logs.String(), "configuration reloaded")
	write(base + "access_log:\n  fields: [path]\n  buffer: 64KiB\n  flush_interval: 1h\n  output: " + logPath + "\n")
	waitUntil(t, "the buffered section in force", func() bool { return strings.Count(logs.String(), "configuration reloaded") > reloads })
	before := len(lines(logPath))
	for range 5 {
		get(url + "/buffered")
	}
	if got := lines(logPath); len(got) != before {
		t.Fatalf("buffered lines written before the stop: %q", got[before:])
	}
	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	got := lines(logPath)[before:]
	if len(got) != 5 {
		t.Fatalf("after the stop, %d new lines, want 5: %q", len(got), got)
	}
	for _, l := range got {
		if !strings.HasPrefix(l, `{"time":`) || !strings.HasSuffix(l, `"path":"/buffered"}`) {
			t.Fatalf("after the stop: line %q, want a /buffered JSON line", l)
		}
	}
}
