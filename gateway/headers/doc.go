// Package headers is a route's header rules: headers to remove, set or
// add on the request before it goes upstream, and on the answer before it
// goes to the client (Kong's request- and response-transformer, Traefik's
// headers middleware). Rules is plain data with json/yaml tags; Validate
// reports each problem as a *FieldError naming the rule.
//
// Each side's actions run in this order: Remove, then Set (replacing), then
// Add (appending). Names are case-insensitive; a name is set or added by
// one rule only.
//
// Rules may not name the headers that are not theirs to change (Reserved):
// the hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Upgrade,
// Proxy-Connection, Proxy-Authenticate, Proxy-Authorization), the framing
// headers (Content-Length, Transfer-Encoding), and
// those the gateway sets itself: Host (the upstream's preserve_host),
// X-Forwarded-*, Forwarded and X-Request-Id. Response rules may not set or
// add Access-Control-* headers, which are the route's CORS policy's
// (package cors).
//
// # Order in a route's chain
//
// Package live puts the middleware after authentication, authorization
// and the flow limits, and before the identity headers (authn.Forward) and
// the response processing (compress, transform, cache): authentication and
// limits see the client's own headers (a rule removing Authorization keeps
// it from the upstream, not from the gateway), the identity headers cannot
// be overwritten by a rule, and the cache sees the request the upstream
// sees. Response rules apply to the upstream's answers, cached ones and a
// composite route's merged answer alike, after compression, and to the
// gateway's errors from there on (502, 504); not to the gateway's own
// refusals (401, 429) answered before the rules, nor to CORS preflights,
// which the route's CORS policy answers before them.
package headers
