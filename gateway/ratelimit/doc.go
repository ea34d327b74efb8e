// Package ratelimit is the gateway's flow limit: rate limits (GCRA, a
// token bucket kept as one timestamp per key) and concurrency limits, per
// route and per consumer, API key, client IP or header.
//
// Middleware enforces a list of Policy values. Each has a Limit (Rate per
// Period, Burst at once), a KeyFunc choosing the bucket (Consumer,
// APIKey, ClientIP, Header; nil for one bucket) and a Store:
//
//   - Local keeps buckets in memory. It is exact within one process, but
//     the gateway is autoscaled: with N replicas a local limit lets N times
//     the traffic through.
//   - Redis keeps them in Redis, one round trip per request (a Lua
//     script, GCRA as go-redis/redis_rate has it), so every replica
//     shares one budget.
//     When Redis is down the policy fails open (default) or closed
//     (FailClosed), and says so once in the log and on every request in
//     gatescale_ratelimit_store_errors_total.
//
// Responses carry the IETF RateLimit-Policy and RateLimit headers; refused
// requests get 429 with Retry-After and a problem+json body, and count in
// gatescale_ratelimit_rejected_total{route,policy}. Concurrency limits
// requests in flight per key in one process.
//
// ClientIP believes X-Forwarded-For only from trusted proxies, so a client
// cannot pick its own bucket by sending the header.
package ratelimit
