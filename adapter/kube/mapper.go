package kube

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StaticMapper returns a REST mapper that knows the built-in resources the
// HPA and adapter rules usually name (pods, services, namespaces, nodes,
// deployments, statefulsets, ingresses, jobs...), without asking an API
// server. It serves the `query` subcommand and tests; a server given a
// kubeconfig uses the cluster's discovery instead, which also knows CRDs.
func StaticMapper() apimeta.RESTMapper {
	v1 := schema.GroupVersion{Version: "v1"}
	apps := schema.GroupVersion{Group: "apps", Version: "v1"}
	batch := schema.GroupVersion{Group: "batch", Version: "v1"}
	networking := schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}
	autoscaling := schema.GroupVersion{Group: "autoscaling", Version: "v2"}
	policy := schema.GroupVersion{Group: "policy", Version: "v1"}
	m := apimeta.NewDefaultRESTMapper([]schema.GroupVersion{v1, apps, batch, networking, autoscaling, policy})
	for _, k := range []struct {
		gv   schema.GroupVersion
		kind string
		root bool
	}{
		{v1, "Pod", false},
		{v1, "Service", false},
		{v1, "Endpoints", false},
		{v1, "ConfigMap", false},
		{v1, "PersistentVolumeClaim", false},
		{v1, "ReplicationController", false},
		{v1, "ServiceAccount", false},
		{v1, "Namespace", true},
		{v1, "Node", true},
		{v1, "PersistentVolume", true},
		{apps, "Deployment", false},
		{apps, "ReplicaSet", false},
		{apps, "StatefulSet", false},
		{apps, "DaemonSet", false},
		{batch, "Job", false},
		{batch, "CronJob", false},
		{networking, "Ingress", false},
		{autoscaling, "HorizontalPodAutoscaler", false},
		{policy, "PodDisruptionBudget", false},
	} {
		scope := apimeta.RESTScopeNamespace
		if k.root {
			scope = apimeta.RESTScopeRoot
		}
		m.Add(k.gv.WithKind(k.kind), scope)
	}
	return m
}
