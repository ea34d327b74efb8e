package console_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/console"
)

// The console goes on the admin listener next to the admin API, whose
// Guard authenticates its data.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	gw, _ := gateway.New(gateway.WithRegistry(reg))
	defer gw.Close()
	tokens, _ := admin.NewTokens(admin.Token{Name: "alice", Role: "admin", SHA256: admin.HashToken("secret")})
	api, _ := admin.NewAPI(admin.NewFile("/var/lib/gatescale/state.json"), admin.Options{Tokens: tokens, Registry: reg})

	con, err := console.New(console.Options{Gateway: gw, Gatherer: reg, Guard: api.Guard})
	if err != nil {
		panic(err)
	}
	handlers := con.Handlers()
	handlers["/admin/"] = api
	srv := &gateway.Server{Gateway: gw, Addr: ":8080", AdminAddr: "127.0.0.1:9090", Gatherer: reg, AdminHandlers: handlers}
	_ = srv // go con.Run(ctx) (the live numbers), then srv.Run(ctx)

	for _, p := range slices.Sorted(maps.Keys(handlers)) {
		fmt.Println(p)
	}
	// Output:
	// /admin/
	// GET /console/
	// GET /console/api/autoscaling
	// GET /console/api/cluster
	// GET /console/api/graph
	// GET /console/api/session
	// GET /console/api/stats
	// GET /console/api/upstreams
}
