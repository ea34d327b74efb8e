package server

import (
	"sort"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Notifier is implemented by providers whose list of metrics changes
// (after series discovery or a configuration reload).
type Notifier interface {
	OnChange(func())
}

// syncAggregatedDiscovery keeps the aggregated discovery document
// (/apis as clients since Kubernetes 1.30 ask for it) listing the custom
// and external metrics groups. custom-metrics-apiserver registers them
// only in the legacy document, so a current client talking to the
// adapter directly would not see them at all.
func syncAggregatedDiscovery(s *genericapiserver.GenericAPIServer, p Providers) {
	sync := func() {
		mgr := s.AggregatedDiscoveryGroupManager
		if p.Custom != nil {
			res := customDiscovery(p.Custom.ListAllMetrics())
			for i, v := range []string{"v1beta2", "v1beta1"} {
				mgr.AddGroupVersion("custom.metrics.k8s.io", apidiscoveryv2.APIVersionDiscovery{Version: v, Resources: withKind(res, "custom.metrics.k8s.io", v), Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent})
				mgr.SetGroupVersionPriority(metav1.GroupVersion{Group: "custom.metrics.k8s.io", Version: v}, 100, 200-i*100)
			}
		}
		if p.External != nil {
			var res []apidiscoveryv2.APIResourceDiscovery
			for _, m := range p.External.ListAllExternalMetrics() {
				res = append(res, apidiscoveryv2.APIResourceDiscovery{Resource: m.Metric, Scope: apidiscoveryv2.ScopeNamespace, Verbs: []string{"get"},
					ResponseKind: &metav1.GroupVersionKind{Group: "external.metrics.k8s.io", Version: "v1beta1", Kind: "ExternalMetricValueList"}})
			}
			mgr.AddGroupVersion("external.metrics.k8s.io", apidiscoveryv2.APIVersionDiscovery{Version: "v1beta1", Resources: res, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent})
			mgr.SetGroupVersionPriority(metav1.GroupVersion{Group: "external.metrics.k8s.io", Version: "v1beta1"}, 100, 100)
		}
	}
	sync()
	for _, x := range []any{p.Custom, p.External} {
		if n, ok := x.(Notifier); ok {
			n.OnChange(sync)
			// One subscription is enough when both are the same provider.
			break
		}
	}
}

// customDiscovery lists custom metrics the aggregated way: each resource
// (pods, deployments.apps) with its metrics as subresources, which is
// what the legacy names "pods/<metric>" mean.
func customDiscovery(ms []cmprovider.CustomMetricInfo) []apidiscoveryv2.APIResourceDiscovery {
	byRes := map[string]*apidiscoveryv2.APIResourceDiscovery{}
	for _, m := range ms {
		name := m.GroupResource.String()
		r, ok := byRes[name]
		if !ok {
			scope := apidiscoveryv2.ScopeCluster
			if m.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			r = &apidiscoveryv2.APIResourceDiscovery{Resource: name, Scope: scope, Verbs: []string{}}
			byRes[name] = r
		}
		r.Subresources = append(r.Subresources, apidiscoveryv2.APISubresourceDiscovery{Subresource: m.Metric, Verbs: []string{"get"}})
	}
	out := make([]apidiscoveryv2.APIResourceDiscovery, 0, len(byRes))
	for _, r := range byRes {
		sort.Slice(r.Subresources, func(i, j int) bool { return r.Subresources[i].Subresource < r.Subresources[j].Subresource })
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}

// withKind copies res with response kinds of the given version.
func withKind(res []apidiscoveryv2.APIResourceDiscovery, group, version string) []apidiscoveryv2.APIResourceDiscovery {
	out := make([]apidiscoveryv2.APIResourceDiscovery, len(res))
	for i, r := range res {
		r.ResponseKind = &metav1.GroupVersionKind{Group: group, Version: version, Kind: "MetricValueList"}
		subs := make([]apidiscoveryv2.APISubresourceDiscovery, len(r.Subresources))
		for j, s := range r.Subresources {
			s.ResponseKind = r.ResponseKind
			subs[j] = s
		}
		r.Subresources = subs
		out[i] = r
	}
	return out
}
