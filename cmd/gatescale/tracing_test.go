package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/internal/jaegertest"
)

// TestServeTracing runs gatescale from a file with a tracing section
// against a real Jaeger: the startup log names the export, a changed
// tracing key on reload is reported as needing a restart, and the spans of
// a request reach Jaeger through the flush at shutdown alone.
func TestServeTracing(t *testing.T) {
	j := jaegertest.Start(t)
	// The SDK exports a batch after this delay, or at shutdown: a minute
	// leaves only the shutdown.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
	a := backend(t, "a")
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	doc := func(ratio string) string {
		return `listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
drain_period: 50ms
tracing:
  endpoint: "` + j.OTLPGRPC + `"
  protocol: grpc
  service_name: gatescale-cmd-test
  sampling_ratio: ` + ratio + `
upstreams:
  a: {instances: ["` + a + `"]}
routes:
  - {name: a, path_prefix: /a, upstream: a}
`
	}
	if err := os.WriteFile(path, []byte(doc("1")), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "-config", path, "-watch", "20ms")
	url, logs := srv.url, srv.logs
	if !strings.Contains(logs.String(), `"export":"grpc `+j.OTLPGRPC+`"`) {
		t.Errorf("no tracing line at start:\n%s", logs.String())
	}
	if code, body := get(url + "/a/traced"); code != 200 || body != "a /a/traced" {
		t.Fatalf("GET = %d %q", code, body)
	}

	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc("0.5")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the restart warning", func() bool { return strings.Contains(logs.String(), "tracing.sampling_ratio") })

	if err := srv.end(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// Only the shutdown flush can have sent them.
	trs := j.WaitTraces(t, "gatescale-cmd-test", "url.path", "/a/traced", 1, 10*time.Second)
	if len(trs) != 1 || len(trs[0].Spans) != 2 {
		t.Fatalf("Jaeger has %d traces for the request, want one with the server and attempt spans: %+v", len(trs), trs)
	}
}
