package server

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
)

// checkMetricSelector answers a custom metrics request whose
// metricLabelSelector does not parse with 400 BadRequest, as Kubernetes
// answers a bad labelSelector. custom-metrics-apiserver parses it after
// the handler's own checks and returns the parse error as is, which the
// API server turns into a 500.
func checkMetricSelector(next http.Handler) http.Handler {
	const prefix = "/apis/custom.metrics.k8s.io/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			if s := r.URL.Query().Get("metricLabelSelector"); s != "" {
				if _, err := labels.Parse(s); err != nil {
					version, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
					gv := schema.GroupVersion{Group: "custom.metrics.k8s.io", Version: version}
					responsewriters.ErrorNegotiated(apierrors.NewBadRequest(fmt.Sprintf("invalid metricLabelSelector %q: %v", s, err)), apiserver.Codecs, gv, w, r)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
