// Package authn authenticates requests: it finds out who is calling and
// puts a consumer.Identity in the request context, or refuses the request
// with 401, a WWW-Authenticate challenge and a problem+json body that says
// what was wrong (expired, bad signature, unknown key...) without quoting
// the credential.
//
// Middleware tries a route's methods in order; the first method whose kind
// of credentials the request carries decides, so a request with a bad
// token is refused even if it also carries a good API key. Requests with no
// credentials are refused unless WithAnonymous allows them. The methods:
//
//   - JWT: "Authorization: Bearer <JWT>" from a set of trusted issuers.
//     Each Issuer fixes its accepted algorithms (never "none", never HMAC
//     and public-key algorithms together, so a token cannot switch RS256
//     for HS256), its "iss", its audiences and its keys: StaticKeys (PEM
//     or JWK files, HMAC secrets) or a JWKS URL, cached and refreshed in
//     the background, with one rate-limited refresh when a token names an
//     unknown key ID. exp is required; exp, nbf and iat are checked with a
//     small leeway. A token with a "crit" header is refused: it names
//     extensions the gateway would have to understand (RFC 7515 §4.1.11).
//   - APIKey: a key in a header (or a query parameter), looked up by its
//     SHA-256 in a consumer.Store and removed before the request goes
//     upstream, also when another of the route's methods decided.
//   - MTLS: the client certificate the TLS listener verified, mapped to a
//     consumer by its SAN or subject (consumer.CertIdentities).
//
// Forward sends the identity upstream in headers of your choosing
// (X-Consumer-Id...) after deleting whatever the client sent in them.
// NewMetrics counts failures by route, method and reason
// (gatescale_auth_failures_total).
package authn
