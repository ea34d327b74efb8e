// Command composite serves a composite route: GET /order-page/{id} calls an
// orders service, then the customer the order names, and a recommendations
// service at the same time, and answers with one merged JSON document — one
// remote call for the client instead of three. The three services are small
// in-process servers on loopback so that the program runs alone:
//
//	go run ./examples/composite
//	curl -s localhost:8080/order-page/o1
//	curl -s -H 'X-Client-Type: mobile' localhost:8080/order-page/o1
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/live"
)

// configTemplate is what a gatescale.yaml for this route looks like; the
// upstream addresses are filled in at start.
const configTemplate = `
upstreams:
  orders: {instances: ["$ORDERS"]}
  customers: {instances: ["$CUSTOMERS"]}
  recs: {instances: ["$RECS"]}
routes:
  - name: order-page
    path: /order-page/{id}
    timeout: 2s
    composite:
      calls:
        - {name: order, upstream: orders, path: "/orders/{id}"}
        - {name: customer, upstream: customers, path: "/customers/{order.customer_id}", group: customer}
        - {name: recs, upstream: recs, path: /recs, query: {for: "{id}"}, pick: items, group: recommendations, optional: true, timeout: 500ms}
    cache: {ttl: 10s}
    transform:
      header: X-Client-Type
      client_types:
        - {name: mobile, deny: [customer.email, recommendations]}
`

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, *listen, func(addr net.Addr) {
		fmt.Printf("serving on http://%s — try: curl -s http://%s/order-page/o1\n", addr, addr)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// run starts the three services and the gateway, and serves until ctx ends.
func run(ctx context.Context, listen string, ready func(net.Addr)) error {
	services := map[string]http.HandlerFunc{
		"$ORDERS": func(w http.ResponseWriter, r *http.Request) {
			id := strings.TrimPrefix(r.URL.Path, "/orders/")
			writeJSON(w, map[string]any{"id": id, "customer_id": "c7", "total": 42.5})
		},
		"$CUSTOMERS": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/customers/"), "name": "Ada", "email": "ada@example.com"})
		},
		"$RECS": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"items": []map[string]string{{"sku": "tea"}, {"sku": "cup"}}})
		},
	}
	doc := configTemplate
	for placeholder, h := range services {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		doc = strings.ReplaceAll(doc, placeholder, ln.Addr().String())
	}
	loaded, err := config.Parse("composite.yaml", []byte(doc))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(logger))
	if err != nil {
		return err
	}
	defer gw.Close()
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	defer rt.Close()
	if err := loaded.Apply(ctx, gw, rt); err != nil {
		return err
	}
	srv := &gateway.Server{Gateway: gw, Addr: listen, AdminAddr: "127.0.0.1:0", Gatherer: reg, Logger: logger,
		DrainPeriod: 50 * time.Millisecond, Ready: ready}
	return srv.Run(ctx)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
