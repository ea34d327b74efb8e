package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatescale/gatescale/adapter/prom"
)

// notFound is a 404 with our own message; the library's helpers say only
// "the server could not find the metric", which is what users of
// prometheus-adapter complain about.
func notFound(format string, args ...any) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: fmt.Sprintf(format, args...),
	}}
}

func badRequest(format string, args ...any) *apierrors.StatusError {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

// queryError turns a Prometheus error into the status the HPA (and a user
// running kubectl get --raw) should see: 503 with the cause when
// Prometheus cannot be reached, 500 with the PromQL when it refuses the
// query.
func queryError(err error, promql string) error {
	switch {
	case prom.IsUnavailable(err):
		return apierrors.NewServiceUnavailable(err.Error())
	case prom.IsBadQuery(err):
		return apierrors.NewInternalError(err)
	case errors.Is(err, context.Canceled):
		return apierrors.NewTimeoutError("request canceled", 0)
	default:
		return apierrors.NewInternalError(fmt.Errorf("querying prometheus with %s: %w", promql, err))
	}
}

// listError is the status of a failed object listing: the Kubernetes API,
// not Prometheus, failed, and the message says so.
func listError(err error) error {
	if errors.Is(err, context.Canceled) {
		return apierrors.NewTimeoutError("request canceled", 0)
	}
	return apierrors.NewInternalError(err)
}

// explainMissing says why no rule serves a metric: which rules exist,
// what each discovered, and where the metric is served if elsewhere.
func (st *state) explainMissing(metric string, elsewhere []string, external bool, now time.Time) string {
	var b strings.Builder
	if len(elsewhere) > 0 {
		sort.Strings(elsewhere)
		fmt.Fprintf(&b, "; it is served for %s", strings.Join(elsewhere, ", "))
		return b.String()
	}
	var n int
	for _, rs := range st.stats {
		if rs.rule.External == external {
			n++
		}
	}
	kind := "rules"
	if external {
		kind = "externalRules"
	}
	if n == 0 {
		fmt.Fprintf(&b, "; the configuration has no %s", kind)
		return b.String()
	}
	if st.snapTime.IsZero() {
		b.WriteString("; series discovery has not completed yet")
	} else {
		fmt.Fprintf(&b, "; series discovery ran %s ago", now.Sub(st.snapTime).Round(time.Second))
	}
	fmt.Fprintf(&b, " and none of the %d %s produced it:", n, kind)
	shown := 0
	for _, rs := range st.stats {
		if rs.rule.External != external {
			continue
		}
		if shown == 6 {
			fmt.Fprintf(&b, " ... (%d more)", n-shown)
			break
		}
		shown++
		fmt.Fprintf(&b, " %s", rs.rule)
		switch {
		case rs.err != nil:
			fmt.Fprintf(&b, " could not list series: %v;", rs.err)
		case rs.series == 0:
			b.WriteString(" matched no series;")
		default:
			names := rs.metrics
			more := ""
			if len(names) > 5 {
				more = fmt.Sprintf(" and %d more", len(names)-5)
				names = names[:5]
			}
			fmt.Fprintf(&b, " produced %s%s;", strings.Join(names, ", "), more)
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// discoveryUnavailable returns, when discovery could not reach Prometheus
// for any rule of the kind asked about, the 503 to answer instead of a
// 404: the metric may well exist, and the HPA (and whoever reads its
// events) should hear that Prometheus is the problem.
func (st *state) discoveryUnavailable(metric string, external bool) error {
	failed := 0
	var cause error
	for _, rs := range st.stats {
		if rs.rule.External == external && rs.err != nil && prom.IsUnavailable(rs.err) {
			failed++
			if cause == nil {
				var pe *prom.Error
				if errors.As(rs.err, &pe) {
					cause = pe
				} else {
					cause = rs.err
				}
			}
		}
	}
	if cause == nil {
		return nil
	}
	return apierrors.NewServiceUnavailable(fmt.Sprintf("metric %s cannot be looked up: series discovery failed for %d rule(s): %v", metric, failed, cause))
}
