// Package cors is a route's Cross-Origin Resource Sharing policy, as the
// Fetch standard defines the protocol: which origins may read the route's
// answers from a browser, with which methods and request headers, which
// response headers they may read, whether credentials (cookies, HTTP
// authentication) may come along, and for how long a browser may keep a
// preflight's answer. Options is plain data with json/yaml tags; Validate
// reports each problem as a *FieldError naming the field.
//
// # Origins
//
// AllowOrigins lists "*" (any origin, never with AllowCredentials: the
// standard forbids it and browsers refuse it), exact origins
// ("https://app.example.com", "http://localhost:3000") and wildcard
// subdomains ("https://*.example.com": a.example.com and a.b.example.com,
// not example.com). Scheme and port always count: the wildcard above does
// not match http://a.example.com or https://a.example.com:8443. An
// international host may be written in Unicode (https://bücher.example
// matches https://xn--bcher-kva.example, which browsers send). "null" is
// refused, since every sandboxed document sends it. See OriginPattern.
//
// # Preflights and actual requests
//
// CORS.Middleware answers a preflight (OPTIONS with Origin and
// Access-Control-Request-Method) itself, 204, without calling the next
// handler: the upstream never sees it. The answer carries the CORS headers
// only when the origin, the method and every requested header are allowed,
// and always says Vary: Origin, Access-Control-Request-Method,
// Access-Control-Request-Headers. An actual request from an allowed origin
// gets Access-Control-Allow-Origin (the origin itself, or "*" for a
// policy of "*", which marks every answer, with or without Origin, so
// that a shared cache may hand it to any origin), -Allow-Credentials and
// -Expose-Headers; one from another origin is served without them, as
// browsers enforce CORS, not servers.
// The headers are set when the answer's header is written, replacing any
// the upstream sent; an answer whose headers depend on the origin says
// Vary: Origin.
//
// # Order in a route's chain
//
// The route table builds the middleware from a route's declaration and
// puts it after the route's guards (its lifecycle and client-address
// rules, which answer a preflight as any request) and before the rest of
// its chain: a preflight carries no credentials, so it must be answered
// before authentication would refuse it, and the gateway's refusals from
// there on (401, 403, 429) carry the CORS headers, so a page can read why
// it was refused. It sits outside a response cache, so a cached answer is
// marked for each request's own origin, never for the origin of the
// request that filled the cache.
//
// Disabled turns the policy off: a route's cors: {disabled: true} keeps
// the top-level cors off it (an upstream that does CORS itself).
//
// A route table sends a preflight to the route that serves the method it
// asks about, even when the route does not list OPTIONS (package route,
// IsPreflight).
package cors
