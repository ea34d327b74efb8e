package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gatescale/gatescale/adapter/config"
)

// forecast is a compiled forecasts section.
type forecast struct {
	spec    config.Forecast
	matches *regexp.Regexp
}

// forecastName is the API name of metric's forecast h ahead:
// gatescale_requests_per_second_forecast_60s. The horizon is written in
// seconds so one horizon has one name, however it was written.
func forecastName(metric string, h time.Duration) string {
	return metric + "_forecast_" + strconv.FormatInt(int64(h/time.Second), 10) + "s"
}

// wrap turns a metric's query q into its forecast h ahead. The forecast
// is fitted to q evaluated over the window at the step (a subquery), so
// it works for any rule's query, rates and quantiles alike:
//
//	predict_linear:  predict_linear((q)[window:step], h)
//	holt_winters:    holt_winters((q)[window:step], sf, tf)
//	                   + deriv((q)[window:step]) * h
//
// holt_winters gives a smoothed current level, not a prediction, so the
// trend (the least-squares slope) times the horizon is added to it: a
// less jumpy forecast than predict_linear's for noisy metrics. With
// floorAtCurrent the result is never below q itself:
//
//	(forecast > (q)) or (q)
func (f *forecast) wrap(q string, h time.Duration) string {
	w, s := config.Duration(f.spec.WindowOrDefault()).String(), config.Duration(f.spec.StepOrDefault()).String()
	secs := strconv.FormatFloat(h.Seconds(), 'f', -1, 64)
	rng := fmt.Sprintf("(%s)[%s:%s]", q, w, s)
	var fc string
	switch f.spec.MethodOrDefault() {
	case config.HoltWinters:
		sf, tf := f.spec.Factors()
		fc = fmt.Sprintf("(holt_winters(%s, %g, %g) + deriv(%s) * %s)", rng, sf, tf, rng, secs)
	default:
		fc = fmt.Sprintf("predict_linear(%s, %s)", rng, secs)
	}
	if f.spec.FloorAtCurrent {
		return fmt.Sprintf("(%s > (%s)) or (%s)", fc, q, q)
	}
	return fc
}
