package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/naming"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/provider"
)

const queryUsage = `usage:
  gatescale-adapter query [flags] RESOURCE[/NAME] METRIC
  gatescale-adapter query --external [flags] METRIC

Prints what the HorizontalPodAutoscaler would get for a metric — the value
as a Kubernetes quantity, its timestamp and window, or the exact error —
and which rule and PromQL produced it. It reads the same flags as serve
(--prometheus-url, --config, --lister-kubeconfig...) and serves nothing.

  gatescale-adapter query -n shop pods/web-1 gatescale_requests_per_second
  gatescale-adapter query -n shop -l app=web pods gatescale_requests_per_second
  gatescale-adapter query -n shop deployments.apps/web gatescale_requests_per_second
  gatescale-adapter query --external -n shop --metric-selector route=users gatescale_requests_per_second

flags:
`

// queryResult is the JSON form of a query's answer (-o json).
type queryResult struct {
	API    string        `json:"api"`
	Plan   provider.Plan `json:"plan"`
	Items  []queryItem   `json:"items,omitempty"`
	Error  string        `json:"error,omitempty"`
	Status int32         `json:"status,omitempty"`
}

type queryItem struct {
	Object    string            `json:"object,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Value     string            `json:"value"`
	Float     float64           `json:"float"`
	Timestamp time.Time         `json:"timestamp"`
	Window    *int64            `json:"windowSeconds,omitempty"`
}

func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := pflag.NewFlagSet("gatescale-adapter query", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, queryUsage); fs.PrintDefaults() }
	c.addFlags(fs)
	namespace := fs.StringP("namespace", "n", "default", "namespace of the objects (ignored for cluster-scoped resources) or of the HPA (external metrics)")
	selector := fs.StringP("selector", "l", "", "label selector for the objects, as the HPA sends for Pods metrics (needs --lister-kubeconfig or a cluster)")
	metricSelector := fs.String("metric-selector", "", "the metric's label selector (the HPA's metric.selector)")
	external := fs.Bool("external", false, "query an external metric")
	output := fs.StringP("output", "o", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	msel, err := labels.Parse(*metricSelector)
	if err != nil {
		return fmt.Errorf("--metric-selector: %w", err)
	}
	osel, err := labels.Parse(*selector)
	if err != nil {
		return fmt.Errorf("--selector: %w", err)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	pc, err := prom.New(c.prom)
	if err != nil {
		return err
	}
	mapper, objects, _, err := c.kubeAccess(ctx, false)
	if err != nil {
		return err
	}
	disc := prom.NewDiscoverer(pc, prom.DiscovererOptions{Lookback: cfg.DiscoveryLookback()})
	p, err := provider.New(cfg, provider.Options{Prometheus: pc, Discoverer: disc, Mapper: mapper, Objects: objects})
	if err != nil {
		return err
	}
	if _, err := disc.Refresh(ctx); err != nil {
		return err
	}

	var res queryResult
	if *external {
		if fs.NArg() != 1 {
			fs.Usage()
			return fmt.Errorf("query --external takes one argument, the metric name")
		}
		res = queryExternal(ctx, p, fs.Arg(0), *namespace, msel)
	} else {
		if fs.NArg() != 2 {
			fs.Usage()
			return fmt.Errorf("query takes RESOURCE[/NAME] and METRIC")
		}
		res = queryCustom(ctx, p, mapper, fs.Arg(0), fs.Arg(1), *namespace, osel, msel)
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printResult(stdout, res)
	}
	if res.Error != "" {
		return errors.New("the HPA would get an error for this metric")
	}
	return nil
}

func queryCustom(ctx context.Context, p *provider.Provider, mapper apimeta.RESTMapper, object, metric, namespace string, sel, msel labels.Selector) queryResult {
	resName, name, _ := strings.Cut(object, "/")
	gr, err := naming.Normalize(mapper, schema.ParseGroupResource(resName))
	if err != nil {
		return failed(queryResult{API: "custom.metrics.k8s.io"}, fmt.Errorf("resource %s: %w", resName, err))
	}
	if root, _ := isRoot(mapper, gr); root {
		namespace = ""
	}
	info := cmprovider.CustomMetricInfo{GroupResource: gr, Metric: metric, Namespaced: namespace != ""}
	path := "custom.metrics.k8s.io/v1beta2 "
	if namespace != "" {
		path += "namespaces/" + namespace + "/"
	}
	nameOrAll := name
	if name == "" {
		nameOrAll = "*"
	}
	res := queryResult{API: path + gr.String() + "/" + nameOrAll + "/" + metric}
	var names []string
	if name != "" {
		names = []string{name}
	}
	if res.Plan, err = p.PlanCustom(ctx, info, namespace, names, msel); err != nil {
		return failed(res, err)
	}
	if name != "" {
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: namespace, Name: name}, info, msel)
		if err != nil {
			return failed(res, err)
		}
		res.Items = append(res.Items, item(object, nil, v.Value, v.Timestamp.Time, v.WindowSeconds))
		return res
	}
	list, err := p.GetMetricBySelector(ctx, namespace, sel, info, msel)
	if err != nil {
		return failed(res, err)
	}
	for _, v := range list.Items {
		res.Items = append(res.Items, item(gr.String()+"/"+v.DescribedObject.Name, nil, v.Value, v.Timestamp.Time, v.WindowSeconds))
	}
	return res
}

func queryExternal(ctx context.Context, p *provider.Provider, metric, namespace string, msel labels.Selector) queryResult {
	res := queryResult{API: "external.metrics.k8s.io/v1beta1 namespaces/" + namespace + "/" + metric}
	var err error
	if res.Plan, err = p.PlanExternal(ctx, metric, namespace, msel); err != nil {
		return failed(res, err)
	}
	list, err := p.GetExternalMetric(ctx, namespace, msel, cmprovider.ExternalMetricInfo{Metric: metric})
	if err != nil {
		return failed(res, err)
	}
	for _, v := range list.Items {
		res.Items = append(res.Items, item("", v.MetricLabels, v.Value, v.Timestamp.Time, v.WindowSeconds))
	}
	return res
}

func isRoot(mapper apimeta.RESTMapper, gr schema.GroupResource) (bool, error) {
	gvk, err := mapper.KindFor(gr.WithVersion(""))
	if err != nil {
		return false, err
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == apimeta.RESTScopeNameRoot, nil
}

func item(obj string, lbls map[string]string, q resource.Quantity, ts time.Time, window *int64) queryItem {
	return queryItem{Object: obj, Labels: lbls, Value: q.String(), Float: q.AsApproximateFloat64(), Timestamp: ts.UTC(), Window: window}
}

func failed(res queryResult, err error) queryResult {
	res.Error = err.Error()
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		res.Status = se.Status().Code
		res.Error = se.Status().Message
	}
	return res
}

func printResult(w io.Writer, r queryResult) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "request:\t%s\n", r.API)
	if r.Plan.PromQL != "" {
		fmt.Fprintf(tw, "rule:\t%s\n", r.Plan.Rule)
		fmt.Fprintf(tw, "series:\t%s\n", r.Plan.Series)
		if r.Plan.Forecast != "" {
			fmt.Fprintf(tw, "forecast:\t%s\n", r.Plan.Forecast)
		}
		fmt.Fprintf(tw, "PromQL:\t%s\n", r.Plan.PromQL)
	}
	if r.Error != "" {
		status := ""
		if r.Status != 0 {
			status = fmt.Sprintf(" (HTTP %d)", r.Status)
		}
		fmt.Fprintf(tw, "error%s:\t%s\n", status, r.Error)
	}
	for _, it := range r.Items {
		who := it.Object
		if who == "" {
			who = labels.Set(it.Labels).String()
			if who == "" {
				who = "{}"
			}
		}
		window := ""
		if it.Window != nil {
			window = fmt.Sprintf(", window %ds", *it.Window)
		}
		fmt.Fprintf(tw, "value:\t%s = %s (%g) at %s%s\n", who, it.Value, it.Float, it.Timestamp.Format(time.RFC3339), window)
	}
	if r.Error == "" && len(r.Items) == 0 {
		fmt.Fprintf(tw, "value:\tan empty list (no object matched)\n")
	}
	tw.Flush()
}
