package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"

	"github.com/gatescale/gatescale/internal/hpasim"
)

// runPlan replays the HPA algorithm over a QPS timeline: `gatescale plan`.
func runPlan(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	hpaPath := fs.String("hpa", "", "HorizontalPodAutoscaler manifest (autoscaling/v2 YAML)")
	qpsPath := fs.String("qps", "", "load timeline CSV: seconds,total_qps per line (a header line is allowed)")
	var o hpasim.Options
	fs.DurationVar(&o.SyncPeriod, "sync", 15*time.Second, "the controller's sync period")
	fs.Float64Var(&o.Tolerance, "tolerance", 0.1, "the controller's tolerance")
	fs.DurationVar(&o.PodStartup, "startup", 0, "time from a scale-up decision to the new pod serving")
	fs.IntVar(&o.Start, "start", 0, "replicas at time 0 (default: minReplicas)")
	fs.DurationVar(&o.Until, "until", 0, "end of the replay (default: last sample + 10m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hpaPath == "" || *qpsPath == "" {
		return errors.New("plan: -hpa and -qps are required")
	}
	raw, err := os.ReadFile(*hpaPath)
	if err != nil {
		return err
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := yaml.UnmarshalStrict(raw, &hpa); err != nil {
		return fmt.Errorf("%s: %w", *hpaPath, err)
	}
	samples, err := readTimeline(*qpsPath)
	if err != nil {
		return err
	}
	steps, err := hpasim.Simulate(&hpa, samples, o)
	if err != nil {
		return fmt.Errorf("%s: %w", *hpaPath, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SECONDS\tQPS\tSERVING\tPER POD\tPROPOSAL\tREPLICAS\t")
	last := -1
	for _, s := range steps {
		mark := ""
		if last >= 0 && s.Desired != last {
			mark = " ←"
		}
		last = s.Desired
		fmt.Fprintf(tw, "%.0f\t%.1f\t%d\t%.1f\t%d\t%d%s\t\n", s.At.Seconds(), s.QPS, s.Serving, s.PerPod, s.Proposal, s.Desired, mark)
	}
	return tw.Flush()
}

// readTimeline reads "seconds,qps" lines; errors name the line.
func readTimeline(path string) ([]hpasim.Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var out []hpasim.Sample
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("%s:%d: want seconds,qps", path, line)
		}
		sec, err1 := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
		qps, err2 := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err1 != nil || err2 != nil {
			if line == 1 {
				continue // a header
			}
			return nil, fmt.Errorf("%s:%d: %q,%q are not numbers", path, line, rec[0], rec[1])
		}
		if len(out) > 0 && time.Duration(sec*float64(time.Second)) < out[len(out)-1].At {
			return nil, fmt.Errorf("%s:%d: time goes backwards", path, line)
		}
		out = append(out, hpasim.Sample{At: time.Duration(sec * float64(time.Second)), QPS: qps})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	return out, nil
}
