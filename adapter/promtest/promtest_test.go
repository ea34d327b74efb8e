package promtest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// A target added through file-based discovery is scraped with the labels
// given to it.
func TestStartScrapesTargetWithLabels(t *testing.T) {
	addr := ServeMetrics(t, func(w io.Writer) {
		fmt.Fprintln(w, "# TYPE promtest_up gauge\npromtest_up 42")
	})
	p := Start(t, Options{})
	p.SetTargets(t, Target{Addr: addr, Labels: map[string]string{"namespace": "ns1", "pod": "pod-a"}})
	p.WaitFor(t, `promtest_up{namespace="ns1",pod="pod-a"} == 42`, 1, 20*time.Second)

	p.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := p.Query(ctx, "up"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("after Stop, query error = %v, want connection refused", err)
	}
}
