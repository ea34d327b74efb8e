// Package ipaccess admits or refuses a request by its client's address: a
// route open to an office network, a VPN or a partner's range only, or one
// that refuses a range that abuses it (Kong's and APISIX's ip-restriction,
// Traefik's ipAllowList).
//
// A Rule has Deny and Allow lists of prefixes. Deny wins: an address in
// Deny is refused even when Allow lists it too (a bad host inside an
// allowed range). With Allow set, every address outside it is refused;
// with Allow empty, every address outside Deny is admitted. A refused
// request gets 403 with a problem body, and goes no further: no
// authentication, no limit, no upstream. Its request.Info error (the
// access log's error field) is "forbidden: client address (ip_access)",
// which tells it from an authorization's 403; the metrics count it as any
// 403 of the route.
//
// The client's address is the one the gateway decided for the request
// (request.ClientOf): the TCP peer, or, from a peer in the trusted
// proxies, the client it names in X-Forwarded-For — the same address
// rate limits key on. IPv4-mapped IPv6 addresses and prefixes
// (::ffff:10.0.0.0/104) are the IPv4 ones they map, so a dual-stack
// listener's peers match IPv4 lists.
//
// ParseRule reads lists as written in a configuration file ("10.0.0.0/8",
// "2001:db8::/32", a single address "192.0.2.7"), and its error names the
// list and the entry that is wrong, for the caller to place.
package ipaccess
