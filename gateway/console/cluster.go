package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gatescale/gatescale/gateway/metrics"
	"github.com/gatescale/gatescale/gateway/problem"
)

// Cluster is GET /console/api/cluster: every replica's traffic as the
// configured Prometheus has it, per API over the last minute.
type Cluster struct {
	Window    string         `json:"window"`
	Instances int            `json:"instances"`
	Routes    map[string]Row `json:"routes"`
}

// clusterQueries are the PromQL of the cluster view; %s is the window.
// n counts the instances that report requests.
var clusterQueries = map[string]string{
	"qps": `sum by (route) (rate(` + metrics.RequestsTotal + `[%s]))`,
	"err": `sum by (route) (rate(` + metrics.RequestsTotal + `{code=~"5.."}[%[1]s])) / sum by (route) (rate(` + metrics.RequestsTotal + `[%[1]s]))`,
	"p50": `histogram_quantile(0.5, sum by (route, le) (rate(` + metrics.RequestDuration + `_bucket[%s])))`,
	"p99": `histogram_quantile(0.99, sum by (route, le) (rate(` + metrics.RequestDuration + `_bucket[%s])))`,
	"n":   `count(count by (instance) (` + metrics.RequestsTotal + `))`,
}

func newPromAPI(url string) (promv1.API, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("console: Prometheus URL %q: %w", url, err)
	}
	return promv1.NewAPI(c), nil
}

// ClusterView queries Prometheus for the cluster view.
func (c *Console) ClusterView(ctx context.Context) (Cluster, error) {
	const window = "1m"
	out := Cluster{Window: window, Routes: map[string]Row{}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nan := Number(math.NaN())
	for _, k := range []string{"qps", "err", "p50", "p99", "n"} {
		q := clusterQueries[k]
		if strings.Contains(q, "%") {
			q = fmt.Sprintf(q, window)
		}
		v, _, _, err := c.prom.Query(ctx, q, time.Now())
		if err != nil {
			return Cluster{}, fmt.Errorf("prometheus: %w", err)
		}
		vec, _ := v.(model.Vector)
		for _, s := range vec {
			if k == "n" {
				out.Instances = int(s.Value)
				continue
			}
			name := string(s.Metric["route"])
			r, ok := out.Routes[name]
			if !ok {
				r = Row{P50: nan, P99: nan, InFlight: nan}
			}
			switch k {
			case "qps":
				r.QPS = Number(s.Value)
			case "err":
				r.ErrorRate = Number(s.Value)
			case "p50":
				r.P50 = Number(s.Value)
			case "p99":
				r.P99 = Number(s.Value)
			}
			out.Routes[name] = r
		}
	}
	return out, nil
}

func (c *Console) cluster(w http.ResponseWriter, r *http.Request) {
	if c.prom == nil {
		problem.Write(w, problem.Details{Status: http.StatusNotFound, Detail: "no cluster view: no Prometheus URL is configured"})
		return
	}
	v, err := c.ClusterView(r.Context())
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusBadGateway, Detail: err.Error()})
		return
	}
	writeJSON(w, v)
}
