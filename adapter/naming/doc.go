// Package naming turns rules into the three answers the adapter needs,
// compiled once per configuration: which series a rule serves and what the
// metric is called in the API (Rule.Matches, Rule.MetricName), which
// Kubernetes objects a series belongs to (Resources), and which PromQL
// answers a request (Rule.Query, Rule.ExternalQuery).
//
// Its behaviour follows prometheus-adapter's pkg/naming so that existing
// rules give the same metric names and queries: name.matches is also a
// filter; name.as defaults to $0 or $1; a template label such as "job"
// names a resource only if the REST mapper knows it (jobs.batch), and the
// answer is cached; label matchers are the metric selector's, then the
// namespace's, then the objects'. Where it differs, it is stricter:
// selector operators PromQL cannot express are an error instead of being
// dropped, and object names are matched literally.
package naming
