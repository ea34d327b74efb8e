// Package console is the operator console: a web page served from the
// gateway's admin listener (under /console/) that shows the APIs and their
// lifecycle, composite pipelines as graphs, upstream instances and their
// health, live traffic per API and per replica, and consumers and their
// flow limits — and changes them through the admin API (package admin),
// with the same tokens, roles, If-Match and validation.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the
// binary (no build step, no CDN, nothing fetched at run time). It is
// served with a strict Content-Security-Policy; the admin token is held in
// the tab's sessionStorage and sent as a bearer token, so there is no
// cookie and no cross-site request can carry the operator's authority.
//
// Besides the static page the console serves read-only JSON the admin API
// does not have, each behind admin.API.Guard (viewer role):
//
//	GET /console/api/session      the caller's name and role
//	GET /console/api/stats        per-API QPS, p50/p99 and error rate each second, and per replica
//	GET /console/api/upstreams    upstreams and their instances with health
//	GET /console/api/graph        routes and composite pipelines as nodes and edges
//	GET /console/api/cluster      every replica per API from Prometheus, 404 unless Options.PrometheusURL is set
//	GET /console/api/autoscaling  the HPA view, 404 unless Options.Autoscaling is set
//
// See docs/console.md.
package console
