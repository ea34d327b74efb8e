package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/refusallog"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Requests refused before routing are logged within a budget per reason;
// the rest are counted and the count logged (here on Close).
func ExampleWithRefusalLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelWarn, // the access log's lines are Info
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "request_id" {
				return slog.Attr{} // a stable output
			}
			return a
		}}))
	gw, _ := gateway.New(gateway.WithLogger(logger), gateway.WithRefusalLog(refusallog.Options{PerSecond: 1, Burst: 1}))
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	_ = gw.Apply(context.Background(), gateway.Config{Routes: []route.Route{{Route: spec.Route{Name: "all", PathPrefix: "/"}, Handler: ok}}})
	for range 3 {
		gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/files/a%2Fb", nil))
	}
	gw.Close()
	// Output:
	// level=WARN msg="request refused" reason="it contains an encoded slash or backslash (%2F, %5C)" method=GET path=/files/a%2Fb client=192.0.2.1
	// level=WARN msg="refused requests not logged" reason="it contains an encoded slash or backslash (%2F, %5C)" suppressed=2
}
