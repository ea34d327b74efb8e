package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
)

// A program serves its own pages on the admin listener, next to /metrics,
// /livez and /readyz (cmd/gatescale serves its configuration status at
// GET /config).
func ExampleServer_adminHandlers() {
	gw, _ := gateway.New(gateway.WithRegistry(prometheus.NewRegistry()), gateway.WithAccessLog(false))
	defer gw.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	adminLn, _ := net.Listen("tcp", "127.0.0.1:0")
	admin := make(chan net.Addr, 1)
	srv := &gateway.Server{
		Gateway: gw, Listener: ln, AdminListener: adminLn, DrainPeriod: 1,
		AdminHandlers: map[string]http.Handler{
			"GET /version": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "v1.2.3") }),
		},
		AdminReady: func(a net.Addr) { admin <- a },
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { stop(); <-done }()
	resp, err := http.Get("http://" + (<-admin).String() + "/version")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: v1.2.3
}
