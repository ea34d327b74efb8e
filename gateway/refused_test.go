package gateway_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Requests refused as malformed before routing are counted and logged like
// any other, under the bounded route "(refused)" and a reason: attacks show.
func TestRefusedRequestsCountedAndLogged(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(gateway.WithRegistry(reg), gateway.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if err := gw.Apply(t.Context(), gateway.Config{Routes: []route.Route{{Route: spec.Route{Name: "all", PathPrefix: "/"}, Handler: ok}}}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/files/a%2Fb", "/files/a%2fc", "/x;jsessionid=1", "/fine"} {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if want := 400; target != "/fine" && rec.Code != want {
			t.Errorf("%s: %d, want %d", target, rec.Code, want)
		}
	}
	if v := metricValue(t, reg, "gatescale_http_requests_total", "route", "(refused)", "code", "400"); v != 3 {
		t.Errorf("requests_total{route=(refused),code=400} = %v, want 3", v)
	}
	if v := metricValue(t, reg, "gatescale_http_refused_total", "reason", "it contains an encoded slash or backslash (%2F, %5C)"); v != 2 {
		t.Errorf("refused_total{encoded slash} = %v, want 2", v)
	}
	if v := metricValue(t, reg, "gatescale_http_refused_total", "reason", "it contains a semicolon (path parameters are refused)"); v != 1 {
		t.Errorf("refused_total{semicolon} = %v, want 1", v)
	}
	if n := strings.Count(logs.String(), `route=(refused)`); n != 3 {
		t.Errorf("%d access-log lines for refused requests, want 3:\n%s", n, logs.String())
	}
}
