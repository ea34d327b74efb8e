package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"

	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/internal/hpasim"
)

// runPlan replays the HPA algorithm over a QPS timeline: `gatescale plan`.
// The timeline comes from a CSV file or from a Prometheus range query.
func runPlan(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	hpaPath := fs.String("hpa", "", "HorizontalPodAutoscaler manifest (autoscaling/v2 YAML)")
	qpsPath := fs.String("qps", "", "load timeline CSV: seconds,total_qps per line (a header line is allowed)")
	var pq promTimeline
	fs.StringVar(&pq.url, "prometheus", "", "instead of -qps: Prometheus base URL to read the timeline from with -query")
	fs.StringVar(&pq.query, "query", "", "PromQL giving the total QPS as one series, e.g. sum(rate(gatescale_http_requests_total[1m]))")
	fs.StringVar(&pq.start, "start", "-1h", "start of the range: RFC 3339, Unix seconds, now, or relative to now like -10m")
	fs.StringVar(&pq.end, "end", "now", "end of the range, in the same forms")
	fs.DurationVar(&pq.step, "step", 15*time.Second, "resolution of the range query")
	var o hpasim.Options
	fs.DurationVar(&o.SyncPeriod, "sync", 15*time.Second, "the controller's sync period")
	fs.Float64Var(&o.Tolerance, "tolerance", 0.1, "the controller's tolerance")
	fs.DurationVar(&o.PodStartup, "startup", 0, "time from a scale-up decision to the new pod serving")
	fs.IntVar(&o.Start, "replicas", 0, "replicas at time 0 (default: minReplicas)")
	fs.DurationVar(&o.Until, "until", 0, "end of the replay (default: last sample + 10m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hpaPath == "" || (*qpsPath == "") == (pq.url == "") {
		return errors.New("plan: -hpa and one of -qps and -prometheus are required")
	}
	raw, err := os.ReadFile(*hpaPath)
	if err != nil {
		return err
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := yaml.UnmarshalStrict(raw, &hpa); err != nil {
		return fmt.Errorf("%s: %w", *hpaPath, err)
	}
	var samples []hpasim.Sample
	if pq.url != "" {
		samples, err = pq.read(ctx, time.Now())
	} else {
		samples, err = readTimeline(*qpsPath)
	}
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

// promTimeline is a QPS timeline to read from a Prometheus range query.
type promTimeline struct {
	url, query, start, end string
	step                   time.Duration
}

// read runs the range query and returns its points as samples in seconds
// from the start of the range, as a CSV timeline would give them. Points
// are what Prometheus returns: a gap (no data) holds the previous value,
// as a gap between CSV lines does.
func (pt promTimeline) read(ctx context.Context, now time.Time) ([]hpasim.Sample, error) {
	if pt.query == "" {
		return nil, errors.New("plan: -prometheus needs -query")
	}
	start, err := parseTime(pt.start, now)
	if err != nil {
		return nil, fmt.Errorf("plan: -start: %w", err)
	}
	end, err := parseTime(pt.end, now)
	if err != nil {
		return nil, fmt.Errorf("plan: -end: %w", err)
	}
	if !end.After(start) {
		return nil, fmt.Errorf("plan: -end %s is not after -start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if pt.step <= 0 {
		return nil, errors.New("plan: -step must be positive")
	}
	c, err := prom.New(prom.Config{URL: pt.url})
	if err != nil {
		return nil, err
	}
	m, err := c.QueryRange(ctx, pt.query, start, end, pt.step)
	if err != nil {
		return nil, err
	}
	switch len(m) {
	case 1:
	case 0:
		return nil, fmt.Errorf("plan: %s returned no data between %s and %s", pt.query, start.Format(time.RFC3339), end.Format(time.RFC3339))
	default:
		return nil, fmt.Errorf("plan: %s returned %d series (%s, ...); the plan needs the total: sum(...) them", pt.query, len(m), m[0].Metric)
	}
	out := make([]hpasim.Sample, 0, len(m[0].Values))
	for _, p := range m[0].Values {
		v := float64(p.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out = append(out, hpasim.Sample{At: p.Timestamp.Time().Sub(start), QPS: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("plan: %s returned only NaN or infinite values", pt.query)
	}
	return out, nil
}

// parseTime reads now, a duration relative to now (-10m, -1h30m, -2d:
// Prometheus's duration syntax), RFC 3339, or Unix seconds.
func parseTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := model.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		return now.Add(-time.Duration(d)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is not now, -DURATION, RFC 3339 or Unix seconds", s)
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
