package cache

import (
	"errors"
	"fmt"
	"github.com/gatescale/gatescale/gateway/units"
	"net/http"
	"strings"
	"time"
)

// FieldError is one problem in StoreOptions or Policy. Field is the
// option's path in its serialised (snake_case) form, e.g. "ttl" or
// "query_params[2]", so that a configuration file can point at the line
// that holds it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// errs collects FieldErrors; err joins them (nil when there are none), so
// errors.As finds the first and Unwrap() []error lists them all.
type errs []error

func (l *errs) add(field, format string, args ...any) {
	*l = append(*l, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l errs) err() error { return errors.Join(l...) }

// Defaults of the options left at zero.
const (
	DefaultMaxBytes      = 64 << 20
	DefaultMaxObjectSize = 1 << 20
	// DefaultCoalesceTimeout is nginx's proxy_cache_lock_timeout: long
	// enough for most answers, short enough that a call that hangs does
	// not hold up its URL's other clients for long.
	DefaultCoalesceTimeout = 5 * time.Second
	// MaxObjectSizeLimit bounds MaxObjectSize: the store weighs an entry in
	// a uint32, and one object must not be able to fill a whole budget
	// anyway.
	MaxObjectSizeLimit = 1 << 30
)

// StoreOptions configure a Store, the memory that every route's cache
// shares.
type StoreOptions struct {
	// MaxBytes is the byte budget: bodies, headers and keys of all stored
	// answers together. The least valuable entries are evicted to stay
	// within it. The bodies that fetches in progress buffer for the store
	// are bounded by it too, apart: an answer that would take them over it
	// streams through unstored. The two budgets are separate, so the
	// cache's memory can reach about twice MaxBytes (size the process's
	// memory limit for that). Default DefaultMaxBytes.
	MaxBytes units.Size `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"`
}

// Validate reports every problem in o as a *FieldError.
func (o StoreOptions) Validate() error {
	var l errs
	if o.MaxBytes < 0 {
		l.add("max_bytes", "must be positive (omit it for the default %d)", DefaultMaxBytes)
	}
	return l.err()
}

func (o StoreOptions) maxBytes() int64 {
	if o.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return int64(o.MaxBytes)
}

// Authenticated says what happens to requests that carry an
// authenticated consumer (consumer.FromContext, set by gateway/authn).
type Authenticated string

const (
	// PerConsumer (the default) caches their answers under the
	// consumer's identity: an answer is only ever served to the consumer
	// whose request fetched it.
	PerConsumer Authenticated = "per_consumer"
	// NoCache passes their requests through, neither served from nor
	// stored in the cache.
	NoCache Authenticated = "off"
)

// Policy is how one route caches. Its zero value is valid: answers are
// stored for as long as their Cache-Control or Expires says, keyed on all
// query parameters, per consumer for authenticated requests.
type Policy struct {
	// TTL, when set, is the freshness lifetime of every stored answer,
	// whatever its max-age, s-maxage or Expires say: the route's operator
	// knows the upstream better than its headers do. no-store, private and
	// no-cache are still honoured.
	TTL units.Duration `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	// DefaultTTL is the lifetime of answers that say nothing about it (no
	// max-age, s-maxage or Expires). Zero: such answers are not stored
	// (no heuristic freshness).
	DefaultTTL units.Duration `json:"default_ttl,omitempty" yaml:"default_ttl,omitempty"`
	// StaleWhileRevalidate is how long after an answer goes stale it may
	// still be served while one background request refreshes it, when the
	// answer has no stale-while-revalidate directive of its own.
	StaleWhileRevalidate units.Duration `json:"stale_while_revalidate,omitempty" yaml:"stale_while_revalidate,omitempty"`
	// StaleIfError is how long after an answer goes stale it may still be
	// served when the upstream fails (5xx or no answer), when the answer
	// has no stale-if-error directive of its own.
	StaleIfError units.Duration `json:"stale_if_error,omitempty" yaml:"stale_if_error,omitempty"`
	// QueryParams lists the query parameters that are part of the key.
	// Empty: all of them. Either way they are sorted by name, so ?a=1&b=2
	// and ?b=2&a=1 share an entry.
	QueryParams []string `json:"query_params,omitempty" yaml:"query_params,omitempty"`
	// IgnoreQuery leaves the query out of the key entirely.
	IgnoreQuery bool `json:"ignore_query,omitempty" yaml:"ignore_query,omitempty"`
	// Authenticated is PerConsumer (default) or NoCache.
	Authenticated Authenticated `json:"authenticated,omitempty" yaml:"authenticated,omitempty"`
	// AllowSetCookie stores answers that carry Set-Cookie, without it: the
	// client whose request fetched the answer gets the cookie, no other
	// client ever does. Off: such answers are not stored.
	AllowSetCookie bool `json:"allow_set_cookie,omitempty" yaml:"allow_set_cookie,omitempty"`
	// AllowAuthorization caches requests that carry an Authorization
	// header that no authenticator turned into a consumer (the upstream
	// checks it). Their answers are then stored only when they say they
	// may be shared (public, s-maxage or must-revalidate; RFC 9111 §3.5),
	// and are served to anyone. Off: such requests pass through.
	AllowAuthorization bool `json:"allow_authorization,omitempty" yaml:"allow_authorization,omitempty"`
	// AllowCookie caches requests that carry a Cookie header. Cookies
	// often hold sessions the gateway knows nothing of, so by default such
	// requests pass through; with this set, the upstream must mark answers
	// it personalises private (or Vary: Cookie).
	AllowCookie bool `json:"allow_cookie,omitempty" yaml:"allow_cookie,omitempty"`
	// MaxObjectSize is the largest body stored; larger answers pass
	// through. Default DefaultMaxObjectSize.
	MaxObjectSize units.Size `json:"max_object_size,omitempty" yaml:"max_object_size,omitempty"`
	// IgnoreClientCacheControl ignores the request's Cache-Control and
	// Pragma. Otherwise a client's no-cache or max-age=0 makes the gateway
	// fetch a fresh answer, no-store bypasses the cache, and only-if-cached
	// gets a stored answer or 504: set this when
	// clients must not be able to push load onto the upstream that way.
	IgnoreClientCacheControl bool `json:"ignore_client_cache_control,omitempty" yaml:"ignore_client_cache_control,omitempty"`
	// CoalesceTimeout is how long a request waits for a concurrent
	// request's fetch of the same answer before it fetches its own, and how
	// long a fetch takes in new waiters: a call that hangs holds the
	// others up this long at most. Default DefaultCoalesceTimeout.
	CoalesceTimeout units.Duration `json:"coalesce_timeout,omitempty" yaml:"coalesce_timeout,omitempty"`
}

// Validate reports every problem in p as a *FieldError.
func (p Policy) Validate() error {
	var l errs
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"ttl", p.TTL.Std()},
		{"default_ttl", p.DefaultTTL.Std()},
		{"stale_while_revalidate", p.StaleWhileRevalidate.Std()},
		{"stale_if_error", p.StaleIfError.Std()},
		{"coalesce_timeout", p.CoalesceTimeout.Std()},
	} {
		if f.v < 0 {
			l.add(f.name, "must be positive")
		}
	}
	if p.IgnoreQuery && len(p.QueryParams) > 0 {
		l.add("query_params", "must be empty when ignore_query is set")
	}
	seen := map[string]bool{}
	for i, q := range p.QueryParams {
		field := fmt.Sprintf("query_params[%d]", i)
		switch {
		case q == "":
			l.add(field, "must not be empty")
		case seen[q]:
			l.add(field, "%q is listed twice", q)
		}
		seen[q] = true
	}
	switch p.Authenticated {
	case "", PerConsumer, NoCache:
	default:
		l.add("authenticated", "must be %q or %q, not %q", PerConsumer, NoCache, p.Authenticated)
	}
	switch {
	case p.MaxObjectSize < 0:
		l.add("max_object_size", "must be positive (omit it for the default %d)", DefaultMaxObjectSize)
	case p.MaxObjectSize > MaxObjectSizeLimit:
		l.add("max_object_size", "must be at most %d", MaxObjectSizeLimit)
	}
	return l.err()
}

func (p Policy) coalesceTimeout() time.Duration {
	if p.CoalesceTimeout == 0 {
		return DefaultCoalesceTimeout
	}
	return p.CoalesceTimeout.Std()
}

func (p Policy) maxObjectSize() int64 {
	if p.MaxObjectSize == 0 {
		return DefaultMaxObjectSize
	}
	return int64(p.MaxObjectSize)
}

// canonicalNames returns the canonical forms of a Vary header's names,
// sorted and without duplicates, and whether it holds "*".
func canonicalNames(values []string) (names []string, star bool) {
	for _, v := range values {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "":
			case n == "*":
				star = true
			default:
				names = append(names, http.CanonicalHeaderKey(n))
			}
		}
	}
	return sortedUnique(names), star
}
