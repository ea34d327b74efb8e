package naming

import (
	"regexp"
	"time"

	"github.com/prometheus/common/model"
)

// rangeRe finds range selectors and subqueries: [2m], [5m:30s], [1h30m].
var rangeRe = regexp.MustCompile(`\[\s*([0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)\s*(?::[^\]]*)?\]`)

// Window returns the longest range a PromQL query reads ([2m] in
// rate(x[2m])), which is the window a rate or average was computed over;
// 0 for a query without one (an instantaneous value). It is reported to
// the HPA as the metric's window. It reads the query's text rather than
// parsing PromQL, which is exact for range selectors and subqueries and
// never claims a window that is not in the query.
func Window(promql string) time.Duration {
	var longest time.Duration
	for _, m := range rangeRe.FindAllStringSubmatch(promql, -1) {
		d, err := model.ParseDuration(m[1])
		if err == nil && time.Duration(d) > longest {
			longest = time.Duration(d)
		}
	}
	return longest
}
