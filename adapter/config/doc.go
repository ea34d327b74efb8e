// Package config reads the adapter's rules: prometheus-adapter's
// configuration format (rules, externalRules, resourceRules) accepted
// unchanged, so a user migrates by pointing --config at the file their
// prometheus-adapter ConfigMap holds, plus gatescale's optional sections
// (forecasts, discovery).
//
// Parse refuses a bad file with every problem at once, each as
// file:line:col: path: message, because the config is usually edited in a
// ConfigMap far from the adapter's logs and one round trip per typo is too
// many. The Source of a parsed Config keeps the positions, so later stages
// (compiling rules against the cluster's resources in package naming) can
// point at the line too.
//
// GatewayPreset is the configuration used when none is given: the
// gateway's request rate and p99 latency per pod, and its total request
// rate as an external metric.
package config
