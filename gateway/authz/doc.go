// Package authz decides what an authenticated caller may do on a route:
// required scopes, roles and groups (from JWT claims and the consumer
// record, see consumer.Identity), allow and deny lists of consumers, and
// rules per HTTP method.
//
// A route that declares a Policy denies by default: anonymous callers,
// consumers on the deny list, consumers missing a requirement, and methods
// the policy does not list (when it lists methods) all get 403 with a
// problem+json body saying which requirement was not met. Put Middleware
// after authentication (package authn), which puts the identity it reads
// in the request context.
//
// A rule's Scopes must all be held (OAuth practice: a token carries what
// it may do); of its Roles, Groups and Consumers at least one must match
// (each is a list of alternatives). A route-wide rule and the rule of the
// request's method must both hold. HEAD, when the policy gives it no rule
// of its own, takes GET's: an upstream answers it with its GET handler.
package authz
