// Command compare runs the side-by-side benchmark of `make bench-compare`:
// gatescale against nginx, Caddy, Traefik, lura and a bare
// httputil.ReverseProxy, each in front of the same backend, with wrk in
// alternating rounds and an open-loop generator at a fixed rate. It prints
// the Markdown report and writes it into docs/performance.md (between the
// bench-compare markers). Peers come from hack/build-peers.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatescale/gatescale/bench"
)

func main() {
	if bench.RunRole() {
		return
	}
	var o bench.Options
	targets := flag.String("targets", "", "comma-separated targets (default: all)")
	conns := flag.String("conns", "64", "comma-separated wrk connection counts")
	flag.IntVar(&o.Rounds, "rounds", 3, "closed-loop rounds")
	flag.DurationVar(&o.Duration, "duration", 8*time.Second, "each wrk run")
	flag.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before each run")
	flag.DurationVar(&o.LatencyDuration, "latency-duration", 8*time.Second, "each fixed-rate run (negative: none)")
	flag.IntVar(&o.LatencyRounds, "latency-rounds", 2, "fixed-rate rounds")
	flag.Float64Var(&o.LoadFraction, "load", 0.5, "fixed rate as a fraction of direct's maximum")
	flag.StringVar(&o.PeersDir, "peers", ".cache/peers", "where hack/build-peers.sh put the peers")
	flag.StringVar(&o.ProfileDir, "profile", "", "write CPU and allocation pprof files of the gatescale targets here (e.g. bench/out, git-ignored)")
	flag.BoolVar(&o.Syscalls, "syscalls", true, "one more run per target counting its system calls with perf stat (needs perf and tracefs)")
	out := flag.String("out", "docs/performance.md", "Markdown file to write the report into (empty: print only)")
	flag.Parse()
	if *targets != "" {
		o.Targets = strings.Split(*targets, ",")
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "compare: bad -conns:", c)
			os.Exit(2)
		}
		o.Conns = append(o.Conns, n)
	}
	o.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, o)
	if err != nil && res == nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
	md := res.Markdown()
	fmt.Println(md)
	if *out != "" {
		if werr := bench.WriteDoc(*out, md); werr != nil {
			fmt.Fprintln(os.Stderr, "compare:", werr)
			os.Exit(1)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}
