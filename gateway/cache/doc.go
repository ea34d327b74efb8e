// Package cache is the gateway's response cache: answers to GET and HEAD
// kept in memory under a byte budget, concurrent misses coalesced into one
// upstream call, stale answers served while refreshing or when the
// upstream fails.
//
// A Store holds the answers of every route, within StoreOptions.MaxBytes
// (an otter v2 cache weighed in bytes; see Store for why otter). Each route
// gets a Cache, made by New from the Store and the route's Policy;
// Cache.Middleware caches a proxied route, Cache.Do an answer computed in Go
// (a composite route). The options are plain data with json/yaml tags;
// Validate reports each problem as a *FieldError naming the field.
//
// # Keys
//
// An answer is stored under the request's method, host, path and query
// parameters (all of them sorted by name, or those Policy.QueryParams
// lists, or none with IgnoreQuery; which of these is part of the key too,
// and so is AllowCookie, so that after a reload that changes them the
// answers stored under the old rule are not served for requests the new
// one tells apart), and — for requests that gateway/authn authenticated —
// the consumer with the scopes, roles and groups of its
// credential: an answer fetched for one consumer is never served to
// another. Policy.Authenticated "off" leaves authenticated requests out of
// the cache instead. Within a key, one variant is kept per value of the
// request headers the answer's Vary names (up to 16; Vary: * is not
// stored), and one per route variant that WithVariant names. An answer with a Content-Encoding is served only to requests
// whose Accept-Encoding accepts it (no Accept-Encoding accepts none), Vary
// or not: upstreams often compress without saying Vary, and a transform
// client type asks for identity. (An answer encoded for a request that did
// not accept the coding either comes from an upstream that does not
// negotiate: it is served to all.)
//
// # What is stored, and for how long
//
// Statuses that RFC 9110 calls heuristically cacheable (200, 203, 204,
// 300, 301, 308, 404, 405, 410, 414, 501), unless the answer says no-store,
// private or no-cache (there is no revalidation, so no-cache answers are
// not worth a copy), carries Set-Cookie (Policy.AllowSetCookie stores it
// without the cookie), is an event stream (text/event-stream: it lasts as
// long as its client), or is larger than Policy.MaxObjectSize. The
// lifetime is Policy.TTL if set, else s-maxage, max-age, Expires, else
// Policy.DefaultTTL (zero: not stored). Age is counted from the upstream's
// own Age header.
//
// Requests the cache does not handle pass through untouched, without an
// X-Cache header (result "bypass" in the metrics): other methods than GET
// and HEAD (a successful unsafe request invalidates every stored answer of
// its target URI — GET and HEAD, shared and every consumer's — RFC 9111
// §4.4, found through an index of keys by URI, not a walk), Range
// requests, upgrades, GETs with a body, malformed queries, a client's
// Cache-Control: no-store, requests with a Cookie (sessions the gateway
// knows nothing of; Policy.AllowCookie), and requests with an
// Authorization header that no authenticator vouched for (the upstream
// checks it, so the answer may depend on it), unless
// Policy.AllowAuthorization allows those whose answers say they may be
// shared (public, s-maxage, must-revalidate).
//
// A client's Cache-Control: no-cache, max-age=0 or Pragma: no-cache makes
// the gateway fetch a fresh answer (and store it); max-age=N refuses older
// ones. only-if-cached (RFC 9111 §5.2.1.7) is answered from the store or
// with 504, never from the upstream: a fresh answer, or a stale one within
// stale-while-revalidate (without a background refresh), is served; one
// only within stale-if-error is not, since that window needs an upstream
// failure and this request does not ask the upstream.
// Policy.IgnoreClientCacheControl turns all this off, so that clients
// cannot push load onto the upstream.
//
// Conditional requests (If-None-Match, If-Modified-Since) are answered by
// the cache, with 304 when they match: they are not sent upstream, so that
// the upstream's full answer can be stored.
//
// # Stale answers
//
// After its lifetime, an answer may still be served for
// stale-while-revalidate seconds (from the answer, else
// Policy.StaleWhileRevalidate): the client gets it at once with X-Cache:
// STALE while one background request per key refreshes it. Beyond that and
// within stale-if-error (likewise), a request goes upstream and gets the
// stale answer if the upstream fails (5xx, or no answer: the proxy's 502).
// must-revalidate and proxy-revalidate forbid both; s-maxage does too,
// unless the answer gives stale-while-revalidate or stale-if-error itself
// or Policy.TTL overrides its lifetime (RFC 9111 §5.2.2.10).
//
// # Coalescing
//
// Concurrent misses for one key make one upstream call. The first request
// leads: its answer streams to its client as it arrives and is copied for
// the store. The others wait and get the stored copy (X-Cache: HIT, result
// "coalesced"). A waiter whose client goes away stops waiting; the
// leader's client going away does not end the upstream call either, since
// the waiters need it — but once neither the leader's client nor any
// waiter is left, it does, so that a call that hangs does not hold the key;
// and requests that arrive after the leader's client left start a call of
// their own rather than wait on one that may never answer. A waiter waits
// at most Policy.CoalesceTimeout (default 5 s) before it fetches alone, and
// a fetch older than that takes in no new waiters. An answer that
// cannot be stored (too large, Set-Cookie, no-store...) is not given to
// waiters — they fetch their own as soon as its header (or its size) shows
// it, without waiting for the rest of a body that may be a long stream —
// and for ten seconds after one, misses of that key are not coalesced
// ("hit-for-miss"), so an uncacheable URL does not serialise its clients.
//
// # Headers and metrics
//
// Answers carry X-Cache (HIT, MISS or STALE) and, from the store, Age.
// Store.PurgePrefix removes answers by host and path prefix. A fetch in
// progress when its URL is invalidated or purged does not store its
// answer, which may predate the change. NewMetrics
// counts requests by route and result, evictions, and stored bytes and
// answers (gatescale_cache_*; see Metrics). Route labels come from
// request.Info or the chi pattern, and are bounded (MaxRouteLabels).
package cache
