package config_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
)

func ExampleLoaded_Apply() {
	doc := fmt.Sprintf(`
consumers:
  - id: billing
    api_keys: [{id: billing-1, sha256: %s}]
upstreams:
  orders:
    instances: [127.0.0.1:9001]
routes:
  - name: orders
    path_prefix: /orders
    upstream: orders
    auth: {methods: [api_key]}
    rate_limit: [{rate: 100, per: 1s, key: consumer}]
`, consumer.HashKey("the-key"))
	loaded, err := config.Parse("gatescale.yaml", []byte(doc))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	rt := live.NewRuntime(live.WithRegistry(reg)) // one per process: reused across reloads
	defer rt.Close()
	gw, _ := gateway.New(append(loaded.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithAccessLog(false))...)
	defer gw.Close()
	// Reads files, connects Redis, builds each route's middleware, applies.
	if err := loaded.Apply(context.Background(), gw, rt); err != nil {
		panic(err)
	}

	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("GET", "/orders/1", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 APIKey realm="gatescale", header="X-API-Key"
}
