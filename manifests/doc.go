// Package manifests holds the kustomize bases and overlays that deploy the
// gateway, the metrics adapter and their Prometheus rules. It has no code:
// its test decodes every manifest strictly into the Kubernetes API types,
// parses the configurations they embed with the project's own parsers, and
// renders each kustomization with kubectl when the e2e build has made one.
package manifests
