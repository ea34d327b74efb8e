package liveview

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Render writes stats and upstreams as aligned tables.
func Render(w io.Writer, stats []RouteStats, upstreams []UpstreamStats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// AlignRight pads every cell on the left; the trailing tab ends the
	// last column so it is aligned too.
	fmt.Fprint(tw, "ROUTE\tQPS\tP50\tP99\tERRORS\tIN FLIGHT\t\n")
	for _, s := range stats {
		errors := "-"
		if s.QPS > 0 {
			errors = fmt.Sprintf("%.1f%%", 100*s.ErrorRate)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%.0f\t\n", s.Route, s.QPS, seconds(s.P50), seconds(s.P99), errors, s.InFlight)
	}
	if len(upstreams) > 0 {
		fmt.Fprint(tw, "\t\t\t\t\t\t\n")
		fmt.Fprint(tw, "UPSTREAM\tHEALTHY\tEJECTED\tUNHEALTHY\t\t\t\n")
		for _, u := range upstreams {
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t\t\t\n", u.Upstream, u.Healthy, u.Ejected, u.Unhealthy)
		}
	}
	return tw.Flush()
}

// seconds formats a latency with a unit that keeps three significant
// digits readable; "-" when there is none.
func seconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1e3)
	}
	return fmt.Sprintf("%.2fs", s)
}
