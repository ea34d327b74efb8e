package bench_test

import (
	"context"
	"fmt"
	"os"
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
