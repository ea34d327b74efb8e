// Command quickstart embeds the gatescale gateway in a service's own chi
// router: /users/* is proxied to two instances, /hello stays a local
// handler, and /metrics shows the gateway's metrics.
//
//	go run ./examples/quickstart -users 127.0.0.1:9001,127.0.0.1:9002
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	users := flag.String("users", "127.0.0.1:9001,127.0.0.1:9002", "comma-separated user service instances")
	flag.Parse()
	if err := http.ListenAndServe(*listen, newRouter(strings.Split(*users, ","))); err != nil {
		log.Fatal(err)
	}
}

func newRouter(userAddrs []string) http.Handler {
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg))
	if err != nil {
		log.Fatal(err)
	}
	var instances []discovery.Instance
	for _, a := range userAddrs {
		instances = append(instances, discovery.Instance{Addr: a})
	}
	err = gw.Apply(context.Background(), gateway.Config{
		Upstreams: []gateway.UpstreamSpec{{Name: "users", Instances: instances}},
		Routes:    []route.Route{{Route: spec.Route{Name: "users", PathPrefix: "/users", Upstream: "users"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Get("/hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello from my service\n")) })
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	r.Mount("/", gw) // everything else goes through the gateway
	return r
}
