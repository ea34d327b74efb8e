// Package balance chooses an upstream instance for each request.
//
// A Policy builds a Picker for one fixed set of admitted endpoints; the
// upstream rebuilds the Picker whenever the set changes (discovery update,
// ejection, re-admission). Picking is therefore lock-free and allocation-free
// on the request path: the per-set work (weight schedules, hash rings) is done
// once per change, not once per request.
//
// Policies: RoundRobin, Weighted (smooth weighted round robin, precomputed),
// P2C (least outstanding requests with power-of-two random choices) and Hash
// (consistent hashing on a request key with bounded loads). ByName maps
// configuration names to the policies that need no further settings; Hash
// needs a KeyFunc such as HeaderKey, CookieKey or ClientIPKey.
package balance
