// Package forecasttest holds what the adapter's forecast tests share (it
// is a test helper, imported only by tests): a real Prometheus scraping
// series whose forecasts are known in advance, a ramp rising 2/s and a
// fall of 1/s, and an adapter configuration forecasting the ramp with
// double exponential smoothing under a given method name.
package forecasttest
