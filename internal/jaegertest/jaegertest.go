package jaegertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Jaeger is a running Jaeger; it stops when the test ends.
type Jaeger struct {
	// OTLPGRPC and OTLPHTTP are the base URLs of the OTLP receivers
	// (http://127.0.0.1:port).
	OTLPGRPC, OTLPHTTP string
	// Query is the base URL of the query API (/api/traces, /api/services).
	Query string
}

// Binary returns the path of the jaeger binary, or skips the test (fails
// when GATESCALE_REQUIRE_REAL is set, as in CI) when it is not built.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("jaeger"); err == nil {
		return p
	}
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		bin := filepath.Join(d, ".cache", "bin", "jaeger")
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	if os.Getenv("GATESCALE_REQUIRE_REAL") != "" {
		t.Fatal("jaeger binary not found: run hack/build-jaeger.sh (make deps does)")
	}
	t.Skip("jaeger binary not found: run hack/build-jaeger.sh")
	return ""
}

// Start starts Jaeger on free loopback ports and waits until its query API
// answers.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	bin := Binary(t)
	ports := freePorts(t, 4)
	grpcAddr, httpAddr, queryAddr := addr(ports[0]), addr(ports[1]), addr(ports[2])
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, queryAddr, addr(ports[3]), grpcAddr, httpAddr)
	dir := t.TempDir()
	path := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "jaeger.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", path)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group: a test runner's signal is ours to pass on
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	j := &Jaeger{OTLPGRPC: "http://" + grpcAddr, OTLPHTTP: "http://" + httpAddr, Query: "http://" + queryAddr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(j.Query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && otlpUp(grpcAddr) && otlpUp(httpAddr) {
				return j
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("jaeger exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("jaeger's query API did not answer in 60s:\n%s", log)
		}
	}
}

func otlpUp(a string) bool {
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// freePorts returns n ports free on 127.0.0.1 now (held together, so they
// differ).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a Trace.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	ProcessID     string      `json:"processID"`
	Tags          []KeyValue  `json:"tags"`
	StartTime     int64       `json:"startTime"`
}

// Reference links a span to another (CHILD_OF: its parent).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Process is the resource of a span (its service).
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// KeyValue is a tag (attribute).
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Parent returns the span id of s's CHILD_OF reference, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag returns the value of s's tag key as text, and whether it is there.
func (s Span) Tag(key string) (string, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// Service returns the service name of s in trace tr.
func (tr Trace) Service(s Span) string { return tr.Processes[s.ProcessID].ServiceName }

// Traces returns the traces of service that have a span with tag key=value
// (all traces of the service when key is empty), from the last hour.
func (j *Jaeger) Traces(ctx context.Context, service, key, value string) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {"100"}, "lookback": {"1h"}}
	if key != "" {
		tags, _ := json.Marshal(map[string]string{key: value})
		q.Set("tags", string(tags))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.Query+"/api/traces?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	// An unknown service is 404 in some versions, an empty list in others.
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/traces: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Data []Trace `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("GET /api/traces: %v", err)
	}
	return out.Data, nil
}

// WaitTraces polls Traces until it returns at least want traces or timeout
// passes, and returns the last answer.
func (j *Jaeger) WaitTraces(t testing.TB, service, key, value string, want int, timeout time.Duration) []Trace {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		trs, err := j.Traces(ctx, service, key, value)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(trs) >= want || time.Now().After(deadline) {
			return trs
		}
		time.Sleep(100 * time.Millisecond)
	}
}
