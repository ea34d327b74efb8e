package discovery

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Static is a Resolver over fixed instance lists. Set replaces a service's
// list and delivers it to every running watch before it returns, which is how
// a configuration reload changes static upstreams in place: when Apply
// returns, the new list is in force.
type Static struct {
	// mu serialises Set and watch registration with deliveries, so every
	// watch sees the lists in the order they were set.
	mu       sync.Mutex
	services map[string][]Instance
	watchers map[string]map[*staticWatch]struct{}
}

type staticWatch struct{ fn func(Update) }

// NewStatic returns a Static resolver holding the given services.
func NewStatic(services map[string][]Instance) *Static {
	s := &Static{services: map[string][]Instance{}, watchers: map[string]map[*staticWatch]struct{}{}}
	for name, set := range services {
		s.services[name] = slices.Clone(set)
	}
	return s
}

// Set replaces the instances of service and delivers them to its watches.
func (s *Static) Set(service string, instances []Instance) {
	set := slices.Clone(instances)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[service] = set
	for w := range s.watchers[service] {
		w.fn(Update{Instances: set})
	}
}

// Watch implements Resolver. fn must not call back into s.
func (s *Static) Watch(ctx context.Context, service string, fn func(Update)) error {
	w := &staticWatch{fn: fn}
	s.mu.Lock()
	set, ok := s.services[service]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("static resolver: no service %q", service)
	}
	if s.watchers[service] == nil {
		s.watchers[service] = map[*staticWatch]struct{}{}
	}
	s.watchers[service][w] = struct{}{}
	fn(Update{Instances: set})
	s.mu.Unlock()

	<-ctx.Done()
	s.mu.Lock()
	delete(s.watchers[service], w)
	s.mu.Unlock()
	return nil
}
