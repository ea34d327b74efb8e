// Package shadow finds route shadowing: a request that a less-protected
// route serves, which the upstream — after a path normalisation it applies
// and the gateway does not (letter case, a trailing slash, a ".json"
// suffix...) — reads as a path of a more-protected route. The textbook
// case is an anonymous catch-all "/" and an API-key route "/admin" in front
// of an upstream that ignores case: /ADMIN/users is matched by the
// catch-all and reaches the protected resource.
//
// Find works on the declared routes ([]spec.Route) and asks the gateway's
// own route table (package route) which route serves each probe request, so
// the gateway's path hardening (route.NormalizePath refuses ";", "\",
// encoded slashes and trailing dots, and resolves "//", dot segments and
// encoded unreserved characters) is taken into account as it is, not as
// this package assumes it to be. Protection is compared per method along
// five dimensions, in this order of severity: authentication,
// authorization, client addresses (ip_access), lifecycle (draft, retired)
// and flow limits (rate limits, concurrency); see Protection.
//
// Package live runs Find in its validation (load, reload, the admin API);
// the top-level route_shadowing setting says whether findings refuse the
// configuration or are warnings, and a route's shadowing_accepted names the
// routes whose findings against it were reviewed (docs/security.md).
package shadow
