package provider_test

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/kube"
	"github.com/gatescale/gatescale/adapter/prom"
	"github.com/gatescale/gatescale/adapter/provider"
)

// Wire a provider for the gateway preset and ask for a pod's request rate.
func ExampleNew() {
	c, _ := prom.New(prom.Config{URL: "http://prometheus.monitoring:9090"})
	disc := prom.NewDiscoverer(c, prom.DiscovererOptions{Interval: time.Minute})
	p, err := provider.New(config.GatewayPreset(time.Minute), provider.Options{
		Prometheus: c, Discoverer: disc, Mapper: kube.StaticMapper(),
		Metrics: provider.NewMetrics(nil),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go disc.Run(ctx)
	v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "gateway-0"},
		cmprovider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Metric: config.GatewayRequestsPerSecond, Namespaced: true},
		labels.Everything())
	fmt.Println(v, err)
}

// A plan shows the PromQL behind an answer without running it.
func ExampleProvider_PlanCustom() {
	p, err := provider.New(config.GatewayPreset(time.Minute), provider.Options{Mapper: kube.StaticMapper()})
	if err != nil {
		fmt.Println(err)
		return
	}
	// No discovery has run, so no rule serves the metric yet.
	_, err = p.PlanCustom(context.Background(), cmprovider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Metric: config.GatewayRequestsPerSecond, Namespaced: true}, "shop", []string{"gateway-0"}, labels.Everything())
	fmt.Println(err)
	// Output: metric gatescale_requests_per_second is not served for pods; series discovery has not completed yet and none of the 3 rules produced it: rules[0] (seriesQuery {__name__="gatescale_http_requests_total",namespace!="",pod!=""}, name "^gatescale_http_requests_total$" as "gatescale_requests_per_second") matched no series; rules[1] (seriesQuery {__name__="gatescale_http_request_duration_seconds",namespace!="",pod!=""}, name "^gatescale_http_request_duration_seconds$" as "gatescale_request_duration_p99_seconds") matched no series; rules[2] (seriesQuery {__name__="gatescale_http_request_duration_seconds_bucket",namespace!="",pod!=""}, name "^gatescale_http_request_duration_seconds_bucket$" as "gatescale_request_duration_p99_seconds") matched no series
}
