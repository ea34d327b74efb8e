package bench_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gatescale/gatescale/bench"
)

// Targets lists what a run can measure, in report order.
func ExampleTargets() {
	for _, t := range bench.Targets() {
		fmt.Println(t.Name, t.GoPeer)
	}
	// Output:
	// direct false
	// nginx false
	// caddy true
	// traefik true
	// lura true
	// bare-proxy false
	// gatescale-routing false
	// gatescale-full false
	// gatescale-compose false
}

// A program that runs the harness calls RunRole first: the harness starts
// its Go targets, the backend and the open-loop generator by running the
// same binary again in a role.
func ExampleRun() {
	if bench.RunRole() {
		return
	}
	res, err := bench.Run(context.Background(), bench.Options{
		Targets: []string{"direct", "gatescale-routing"},
		Rounds:  3, Duration: 8 * time.Second, Conns: []int{64},
		PeersDir: ".cache/peers", Log: os.Stderr,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = bench.WriteDoc("docs/performance.md", res.Markdown())
}

// FullChainYAML is the full-chain target's configuration without its
// listeners; FullChainToken signs the token its requests carry.
func ExampleFullChainYAML() {
	yaml := bench.FullChainYAML("127.0.0.1:8081")
	token := bench.FullChainToken("a-secret-of-at-least-32-bytes-long")
	fmt.Println(strings.Contains(yaml, "instances: [127.0.0.1:8081]"), strings.Contains(yaml, "secret_env: "+bench.FullChainSecretEnv))
	fmt.Println(strings.Count(token, "."))
	// Output:
	// true true
	// 2
}
