package discovery

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Static is a Resolver over fixed instance lists. Set replaces a service's
// list and pushes it to every running watch, which is how a configuration
// reload changes static upstreams without restarting them.
type Static struct {
	mu       sync.Mutex
	services map[string][]Instance
	watchers map[string]map[*staticWatch]struct{}
}

type staticWatch struct {
	ch chan []Instance // capacity 1: only the newest set matters
}

// NewStatic returns a Static resolver holding the given services.
func NewStatic(services map[string][]Instance) *Static {
	s := &Static{services: map[string][]Instance{}, watchers: map[string]map[*staticWatch]struct{}{}}
	for name, set := range services {
		s.services[name] = slices.Clone(set)
	}
	return s
}

// Set replaces the instances of service and notifies its watches.
func (s *Static) Set(service string, instances []Instance) {
	set := slices.Clone(instances)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[service] = set
	for w := range s.watchers[service] {
		select { // drop a pending older set, keep the newest
		case <-w.ch:
		default:
		}
		w.ch <- set
	}
}

// Watch implements Resolver.
func (s *Static) Watch(ctx context.Context, service string, fn func(Update)) error {
	w := &staticWatch{ch: make(chan []Instance, 1)}
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
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers[service], w)
		s.mu.Unlock()
	}()

	fn(Update{Instances: set})
	for {
		select {
		case <-ctx.Done():
			return nil
		case set := <-w.ch:
			fn(Update{Instances: set})
		}
	}
}
