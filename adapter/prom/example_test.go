package prom_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatescale/gatescale/adapter/prom"
)

// Run an instant query; an unreachable Prometheus is told apart from a bad
// query.
func ExampleClient_Query() {
	c, err := prom.New(prom.Config{URL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Query(context.Background(), `sum(rate(gatescale_http_requests_total[1m])) by (pod)`, time.Now())
	fmt.Println(prom.IsUnavailable(err), prom.IsBadQuery(err))
	// Output: true false
}

// The total QPS over the last hour, one point every 15 s.
func ExampleClient_QueryRange() {
	c, _ := prom.New(prom.Config{URL: "http://prometheus.monitoring:9090"})
	end := time.Now()
	m, err := c.QueryRange(context.Background(), `sum(rate(gatescale_http_requests_total[1m]))`, end.Add(-time.Hour), end, 15*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range m {
		fmt.Println(s.Metric, len(s.Values), "points")
	}
}

// New checks the URL.
func ExampleNew() {
	_, err := prom.New(prom.Config{URL: "prometheus:9090"})
	fmt.Println(err)
	// Output: prometheus URL "prometheus:9090": want e.g. http://prometheus:9090
}

// A projected service-account token, re-read every minute; a re-read that
// fails keeps the last token in use, and Logger warns once.
func ExampleNew_tokenFile() {
	c, err := prom.New(prom.Config{
		URL:             "http://prometheus.monitoring:9090",
		BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
		Logger:          slog.Default(),
	})
	fmt.Println(c.URL(), err)
	// Output: http://prometheus.monitoring:9090 <nil>
}

// List the series shapes of a selector.
func ExampleClient_Series() {
	c, _ := prom.New(prom.Config{URL: "http://prometheus.monitoring:9090"})
	n, err := c.Series(context.Background(), `{__name__=~"gatescale_.*",namespace!=""}`, time.Now().Add(-10*time.Minute), time.Now(),
		func(name string, labels []string) { fmt.Println(name, labels) })
	fmt.Println(n, err)
}

// A Discoverer lists the rules' selectors every minute and on demand.
func ExampleNewDiscoverer() {
	c, _ := prom.New(prom.Config{URL: "http://prometheus.monitoring:9090"})
	d := prom.NewDiscoverer(c, prom.DiscovererOptions{Interval: time.Minute})
	d.SetSelectors([]string{`{__name__="gatescale_http_requests_total",namespace!="",pod!=""}`})
	d.OnUpdate(func(s *prom.Snapshot) { fmt.Println(len(s.Series), "selectors listed in", s.Duration) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
}
