package cowmap

import (
	"sync"
	"sync/atomic"
)

// Map is a copy-on-write map. The zero value is empty and ready to use; a
// Map must not be copied after first use.
type Map[K comparable, V any] struct {
	mu sync.Mutex // serialises writers; readers never take it
	m  atomic.Pointer[map[K]V]
}

// Load returns k's value and whether k is present.
func (c *Map[K, V]) Load(k K) (V, bool) {
	if p := c.m.Load(); p != nil {
		v, ok := (*p)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Get returns k's value, storing create(k) first when k is missing.
// create runs under the writers' lock, so it runs once per key.
func (c *Map[K, V]) Get(k K, create func(K) V) V {
	if v, ok := c.Load(k); ok {
		return v
	}
	return c.add(k, 0, k, create)
}

// GetWithin is Get for a bounded set of keys: once the map holds limit
// keys, a key not in it is served as other (stored beyond the bound,
// once). It keeps a label's distinct values bounded when they come from
// configuration or clients.
func (c *Map[K, V]) GetWithin(k K, limit int, other K, create func(K) V) V {
	if v, ok := c.Load(k); ok {
		return v
	}
	return c.add(k, limit, other, create)
}

func (c *Map[K, V]) add(k K, limit int, other K, create func(K) V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if v, ok := old[k]; ok {
		return v
	}
	if limit > 0 && len(old) >= limit {
		k = other
		if v, ok := old[k]; ok {
			return v
		}
	}
	v := create(k)
	next := make(map[K]V, len(old)+1)
	for key, val := range old {
		next[key] = val
	}
	next[k] = v
	c.m.Store(&next)
	return v
}

// Delete removes k.
func (c *Map[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m.Load()
	if p == nil {
		return
	}
	if _, ok := (*p)[k]; !ok {
		return
	}
	next := make(map[K]V, len(*p))
	for key, val := range *p {
		if key != k {
			next[key] = val
		}
	}
	c.m.Store(&next)
}

// Len returns the number of keys.
func (c *Map[K, V]) Len() int {
	if p := c.m.Load(); p != nil {
		return len(*p)
	}
	return 0
}
