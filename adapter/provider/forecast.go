package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/adapter/config"
	"github.com/gatescale/gatescale/adapter/prom"
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

// The PromQL names of double exponential smoothing: Prometheus 2 knows
// only holt_winters; Prometheus 3 only double_exponential_smoothing, and
// only with --enable-feature=promql-experimental-functions.
const (
	holtWintersFunc = config.HoltWinters
	smoothingFunc   = config.DoubleExponentialSmoothing
)

// wrap turns a metric's query q into its forecast h ahead. The forecast
// is fitted to q evaluated over the window at the step (a subquery), so
// it works for any rule's query, rates and quantiles alike:
//
//	predict_linear:  predict_linear((q)[window:step], h)
//	holt_winters:    fn((q)[window:step], sf, tf)
//	                   + deriv((q)[window:step]) * h
//
// where fn is holt_winters or double_exponential_smoothing, the name the
// server accepts (fn). Smoothing gives a smoothed current level, not a
// prediction, so the trend (the least-squares slope) times the horizon is
// added to it: a less jumpy forecast than predict_linear's for noisy
// metrics. With floorAtCurrent the result is never below q itself:
//
//	(forecast > (q)) or (q)
func (f *forecast) wrap(q string, h time.Duration, fn string) string {
	w, s := config.Duration(f.spec.WindowOrDefault()).String(), config.Duration(f.spec.StepOrDefault()).String()
	secs := strconv.FormatFloat(h.Seconds(), 'f', -1, 64)
	rng := fmt.Sprintf("(%s)[%s:%s]", q, w, s)
	var fc string
	if f.spec.Smooths() {
		sf, tf := f.spec.Factors()
		fc = fmt.Sprintf("(%s(%s, %g, %g) + deriv(%s) * %s)", fn, rng, sf, tf, rng, secs)
	} else {
		fc = fmt.Sprintf("predict_linear(%s, %s)", rng, secs)
	}
	if f.spec.FloorAtCurrent {
		return fmt.Sprintf("(%s > (%s)) or (%s)", fc, q, q)
	}
	return fc
}

// smoothingName returns the function name to send for a smoothing
// forecast: the one the server last accepted or asked for, else the name
// the configuration spells.
func (p *Provider) smoothingName(f *forecast) string {
	if n, ok := p.smoothing.Load().(string); ok {
		return n
	}
	return f.spec.MethodOrDefault()
}

// render turns an entry's base query into the query to send.
func (p *Provider) render(e entry, base string) string {
	if e.fc == nil {
		return base
	}
	return e.fc.wrap(base, e.h, p.smoothingName(e.fc))
}

// learnSmoothing finds, before a plan is rendered, the smoothing
// function's name the server accepts, if no query has shown it yet: it
// sends the function, under the name the next query would use, applied to
// a constant (the name is checked when the query is parsed, so the probe
// costs nothing to evaluate) and switches names as a refused query does.
// Without it a plan made before the first query (`gatescale-adapter
// query`'s) would print a name the server refuses and the query that
// follows does not send. It returns the 503 of a Prometheus that could not
// be reached or did not answer in time: the query would only wait for it
// again. Other errors are left for that query to report.
func (p *Provider) learnSmoothing(ctx context.Context, api string, e entry) error {
	if e.fc == nil || !e.fc.spec.Smooths() {
		return nil
	}
	if _, ok := p.smoothing.Load().(string); ok {
		return nil
	}
	name := p.smoothingName(e.fc)
	sf, tf := e.fc.spec.Factors()
	probe := fmt.Sprintf("%s(vector(0)[2s:1s], %g, %g)", name, sf, tf)
	_, err := p.queryProm(ctx, api, probe)
	switch {
	case err == nil:
		p.smoothing.Store(name)
	case prom.IsUnavailable(err):
		return queryError(err, probe)
	default:
		p.switchSmoothing(e, err)
	}
	return nil
}

// switchSmoothing reports whether err is the server not knowing the
// smoothing function by the name sent (Prometheus 3 has no holt_winters,
// Prometheus 2 no double_exponential_smoothing); then it remembers the
// other name, so that the caller asks again, once, and later queries use
// it. Trying is how the name is found rather than asking the server's
// version: Thanos, Mimir and proxies in front of Prometheus need not
// serve /api/v1/status/buildinfo, and their PromQL is what counts.
func (p *Provider) switchSmoothing(e entry, err error) bool {
	if e.fc == nil || !e.fc.spec.Smooths() {
		return false
	}
	var pe *prom.Error
	if !errors.As(err, &pe) || pe.Kind != prom.BadQuery {
		return false
	}
	for _, sw := range [][2]string{{holtWintersFunc, smoothingFunc}, {smoothingFunc, holtWintersFunc}} {
		if strings.Contains(pe.Err.Error(), fmt.Sprintf("unknown function with name %q", sw[0])) {
			p.smoothing.Store(sw[1])
			p.opts.Logger.Info("prometheus does not know the smoothing function by the name sent; using the other name from now on", "prometheus", pe.URL, "unknown", sw[0], "using", sw[1])
			return true
		}
	}
	return false
}

// smoothingDisabled reports whether err is Prometheus 3 refusing
// double_exponential_smoothing because experimental functions are off.
func smoothingDisabled(err error) bool {
	var pe *prom.Error
	return errors.As(err, &pe) && pe.Kind == prom.BadQuery &&
		strings.Contains(pe.Err.Error(), fmt.Sprintf("function %q is not enabled", smoothingFunc))
}

// smoothingDisabledError is what the HPA, kubectl and the log are told
// when the smoothing method cannot run: the fix is a Prometheus flag or
// another method, and the message says both.
func smoothingDisabledError(metric string, e entry, err error) error {
	var pe *prom.Error
	errors.As(err, &pe)
	return fmt.Errorf("forecast metric %s (method %s): prometheus at %s has double exponential smoothing only as the experimental function %s, which is not enabled: start Prometheus with --enable-feature=promql-experimental-functions, or use method: %s in forecasts (PromQL: %s)",
		metric, e.fc.spec.MethodOrDefault(), pe.URL, smoothingFunc, config.PredictLinear, pe.Query)
}
