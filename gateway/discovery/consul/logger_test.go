package consul_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/discovery/consul"
	"github.com/gatescale/gatescale/internal/consultest"
	"github.com/gatescale/gatescale/internal/logcapture"
	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestResolverLogsThroughWithLogger: the resolver's own warnings go to
// the logger WithLogger gives (the program's, in its format), not
// elsewhere or nowhere: Consul becoming unreachable is logged once however
// many queries fail, and Consul answering again once.
func TestResolverLogsThroughWithLogger(t *testing.T) {
	agent := consultest.Start(t)
	relay := tcprelay.Start(t, agent.Addr)
	client, err := consul.NewClient(relay.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	register(t, agent.Client, consul.Registration{Name: "logged", Address: "127.0.0.1", Port: 9201})
	logs := &logcapture.Buffer{}
	r := consul.NewResolver(client, consul.WithBackoff(5*time.Millisecond, 10*time.Millisecond),
		consul.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	w := watch(t, r, "logged")
	until(t, 10*time.Second, "the instance", func() bool { return len(w.get().Instances) == 1 && w.get().Err == nil })

	relay.Cut()
	until(t, 10*time.Second, "the outage seen", func() bool { return w.get().Err != nil })
	w.mu.Lock()
	failedAt := w.updates
	w.mu.Unlock()
	// Several failed queries (each an update), one warning.
	until(t, 10*time.Second, "three failed queries", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.updates >= failedAt+2
	})
	warn := `"level":"WARN","msg":"consul resolver: cannot query the service's health`
	if n := strings.Count(logs.String(), warn); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"service":"logged"`) {
		t.Errorf("the warning does not name the service:\n%s", logs.String())
	}

	relay.Restore(t)
	until(t, 10*time.Second, "Consul answering again", func() bool { return w.get().Err == nil })
	until(t, 10*time.Second, "the recovery logged", func() bool {
		return strings.Contains(logs.String(), `"msg":"consul resolver: Consul answers again"`)
	})
}
