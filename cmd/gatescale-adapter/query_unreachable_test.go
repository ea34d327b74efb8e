package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/promtest"
)

// TestQueryAgainstUnansweringPrometheusWaitsOnce: when Prometheus lists
// series (discovery finds the metric) but answers no query, `query` of a
// smoothing forecast sends one query — the check of the smoothing
// function's name — and reports the 503 it gets. It used to send the
// query itself after that check timed out too, so the command waited two
// timeouts in sequence.
func TestQueryAgainstUnansweringPrometheusWaitsOnce(t *testing.T) {
	p, cfg := smoothingPrometheus(t, promtest.Options{}, config.HoltWinters)
	target, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	series := httputil.NewSingleHostReverseProxy(target)
	var queries atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api/v1/series") {
			series.ServeHTTP(w, r)
			return
		}
		// Accepted and never answered, until the client gives up (the
		// body read, so that the server sees the client hang up).
		queries.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer front.Close()
	qr, err := queryJSON(t, "--prometheus-url", front.URL, "--prometheus-timeout", "500ms", "--config", cfg,
		"-n", forecasttest.Namespace, "pods/"+forecasttest.Pod, "app_ramp_forecast_30s")
	if err == nil || qr.Status != http.StatusServiceUnavailable || !strings.Contains(qr.Error, "unavailable") {
		t.Errorf("want the HPA's 503 saying Prometheus is unavailable: %v %+v", err, qr)
	}
	if qr.Plan.Rule == "" || qr.Plan.PromQL == "" {
		t.Errorf("the plan (rule, PromQL) is still printed: %+v", qr.Plan)
	}
	if n := queries.Load(); n != 1 {
		t.Errorf("%d queries waited for an answer, want 1: each waits a whole timeout", n)
	}
}
