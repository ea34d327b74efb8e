package config_test

import (
	"fmt"

	"github.com/gatescale/gatescale/gateway/config"
)

// A reload applies routes and upstreams at once; a new listen address
// waits for a restart, and RestartRequired says so.
func ExampleRestartRequired() {
	const routes = "upstreams: {u: {instances: [\"127.0.0.1:9001\"]}}\nroutes: [{name: r, path_prefix: /, upstream: u}]\n"
	running, _ := config.Parse("gatescale.yaml", []byte("listen: :8080\n"+routes))
	next, _ := config.Parse("gatescale.yaml", []byte("listen: :8081\n"+routes))
	fmt.Println(config.RestartRequired(running, next))
	// Output: [listen]
}
