package promtest_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gatescale/gatescale/adapter/promtest"
)

// testQueueDepth is how a test uses the package: start Prometheus, expose
// a metric as a pod would, label it as Kubernetes service discovery
// would, and wait until it is scraped.
func testQueueDepth(t *testing.T) {
	p := promtest.Start(t, promtest.Options{})
	addr := promtest.ServeMetrics(t, func(w io.Writer) { fmt.Fprintln(w, "queue_depth 7") })
	p.SetTargets(t, promtest.Target{Addr: addr, Labels: map[string]string{"namespace": "shop", "pod": "worker-0"}})
	p.WaitFor(t, `queue_depth{pod="worker-0"} == 7`, 1, 20*time.Second)
	// ... query p.URL as the code under test would ...
}

// testOnPrometheus3 runs the same against Prometheus 3 (built by
// hack/build-prometheus3.sh; the test skips without it) with a feature
// flag.
func testOnPrometheus3(t *testing.T) {
	p := promtest.Start(t, promtest.Options{
		Binary: promtest.Prometheus3Binary(t),
		Args:   []string{"--enable-feature=promql-experimental-functions"},
	})
	_ = p.URL // ... query it as the code under test would ...
}

func Example() {
	_ = testQueueDepth
	_ = testOnPrometheus3
}
