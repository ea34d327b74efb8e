package discovery

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// Instance is one network endpoint of a service.
type Instance struct {
	// ID identifies the instance within its service. Instances with the same
	// ID across updates are the same instance: the gateway keeps their load
	// and health state. Empty means Addr.
	ID string
	// Addr is host:port.
	Addr string
	// Scheme is "http" (the default when empty) or "https".
	Scheme string
	// Weight is the relative weight for weighted balancing; values below 1
	// count as 1.
	Weight int
	// Meta carries source metadata (Consul service meta, Kubernetes labels)
	// for routing decisions such as canaries.
	Meta map[string]string
	// Tags are the source's tags, if it has any.
	Tags []string
}

// Key returns the identity used to match instances across updates.
func (i Instance) Key() string {
	if i.ID != "" {
		return i.ID
	}
	return i.Addr
}

// Validate reports what is wrong with the instance, if anything.
func (i Instance) Validate() error {
	host, port, err := net.SplitHostPort(i.Addr)
	if err != nil {
		return fmt.Errorf("instance %q: addr must be host:port: %w", i.Key(), err)
	}
	if host == "" {
		return fmt.Errorf("instance %q: addr %q has no host", i.Key(), i.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("instance %q: addr %q has an invalid port", i.Key(), i.Addr)
	}
	switch i.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("instance %q: scheme %q is not http or https", i.Key(), i.Scheme)
	}
	return nil
}

// Update is one delivery from a Resolver.
type Update struct {
	// Instances is the complete current set (not a delta).
	Instances []Instance
	// Err is set when the source could not be reached. Instances then holds
	// the last known set, which the gateway keeps using (the set is stale).
	Err error
}

// A Resolver follows the instances of named services.
type Resolver interface {
	// Watch calls fn with the instance set of service as soon as it is
	// known and again after every change, until ctx ends. Calls to fn are
	// sequential. Watch blocks until ctx ends and then returns nil; it
	// returns an error early only if the service can never be resolved
	// (for example, an unknown name in a static resolver).
	Watch(ctx context.Context, service string, fn func(Update)) error
}
