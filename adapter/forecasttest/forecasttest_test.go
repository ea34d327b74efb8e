package forecasttest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/forecasttest"
	"github.com/gatescale/gatescale/adapter/promtest"
)

// The ramp rises and the fall falls at the rates the forecast tests
// expect, and the configuration loads under both method names.
func TestRampSlopes(t *testing.T) {
	p := forecasttest.StartRamp(t, promtest.Options{})
	for q, want := range map[string]float64{`deriv(app_ramp{pod="web-1"}[10s])`: 2, `deriv(app_fall{namespace="shop"}[10s])`: -1} {
		data, err := p.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		}
		if err := json.Unmarshal(data, &v); err != nil || len(v.Result) != 1 {
			t.Fatalf("%s: %s %v", q, data, err)
		}
		var got float64
		if err := json.Unmarshal([]byte(v.Result[0].Value[1].(string)), &got); err != nil {
			t.Fatal(err)
		}
		if got < want-0.2 || got > want+0.2 {
			t.Errorf("%s = %g, want %g", q, got, want)
		}
	}
	for _, m := range []string{config.HoltWinters, config.DoubleExponentialSmoothing} {
		cfg, err := config.Parse("forecast.yaml", []byte(forecasttest.SmoothingConfig(m)))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(cfg.Forecasts) != 1 || cfg.Forecasts[0].MethodOrDefault() != m {
			t.Errorf("%s: forecasts %+v", m, cfg.Forecasts)
		}
	}
}
