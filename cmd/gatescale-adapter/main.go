// Command gatescale-adapter serves Kubernetes metrics APIs from Prometheus
// so the stock HorizontalPodAutoscaler can scale on them:
// custom.metrics.k8s.io (v1beta1, v1beta2), external.metrics.k8s.io and,
// optionally, metrics.k8s.io. Its rules use prometheus-adapter's format;
// without a configuration it serves the gatescale gateway's request rate
// and latency.
//
//	gatescale-adapter [serve] [flags]   the aggregated API server
//	gatescale-adapter query [flags] RESOURCE[/NAME] METRIC
//	gatescale-adapter query --external [flags] METRIC
//	                                    what the HPA would see, and the PromQL
//	gatescale-adapter validate --config FILE
//	gatescale-adapter preset            print the gateway preset as YAML
//	gatescale-adapter version           print version, commit and Go version
//
// See docs/adapter.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatescale-adapter:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  gatescale-adapter [serve] [flags]                        serve the metrics APIs
  gatescale-adapter query [flags] RESOURCE[/NAME] METRIC   what the HPA would see for a custom metric
  gatescale-adapter query --external [flags] METRIC        ... for an external metric
  gatescale-adapter validate --config FILE                 check a rules file and exit
  gatescale-adapter preset [--rate-window 1m]              print the gateway preset rules
  gatescale-adapter version                                print version, commit and Go version
Run a command with --help for its flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "serve", "query", "validate", "preset", "version", "help", "-h", "--help":
			cmd, args = args[0], args[1:]
		}
	}
	switch cmd {
	case "serve":
		a, err := newAdapter(args, stderr)
		if err != nil {
			return err
		}
		if a == nil { // --help
			return nil
		}
		return a.serve(ctx)
	case "query":
		return runQuery(ctx, args, stdout, stderr)
	case "validate":
		return runValidate(args, stdout, stderr)
	case "preset":
		return runPreset(args, stdout, stderr)
	case "version":
		return runVersion(args, stdout)
	default:
		fmt.Fprint(stdout, usage)
		return nil
	}
}
