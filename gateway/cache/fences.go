package cache

import (
	"strings"
	"sync"
)

// fences tell a fetch, when it is about to store its answer, whether its
// URL was invalidated (a successful unsafe request) or purged after the
// fetch began. Its answer may then predate the change, and storing it
// would serve the old data as fresh for its whole lifetime.
//
// Each invalidation and purge takes the next epoch; a fetch notes the epoch
// it began in. The records are kept only while a fetch that began before
// them is in progress, so they stay as few as the fetches that overlap
// writes.
type fences struct {
	mu     sync.Mutex
	epoch  uint64
	active map[uint64]int    // fetches in progress, by the epoch they began in
	uris   map[string]uint64 // target URI (uriOf) → epoch of its last invalidation
	purges []purgeFence
	// pruneAt is the number of records past which end prunes.
	pruneAt int
}

type purgeFence struct {
	prefix string
	epoch  uint64
}

// begin records a fetch starting now; the fetch must call end with the
// result.
func (f *fences) begin() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active == nil {
		f.active = map[uint64]int{}
	}
	f.active[f.epoch]++
	return f.epoch
}

// end records that the fetch that began in start is over.
func (f *fences) end(start uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active[start]--; f.active[start] <= 0 {
		delete(f.active, start)
	}
	if len(f.active) == 0 {
		f.uris, f.purges = nil, nil
		return
	}
	if len(f.uris)+len(f.purges) <= max(f.pruneAt, 64) {
		return
	}
	// Under steady traffic some fetch is always in progress: drop what no
	// fetch in progress began before.
	oldest := f.epoch
	for e := range f.active {
		oldest = min(oldest, e)
	}
	for u, e := range f.uris {
		if e <= oldest {
			delete(f.uris, u)
		}
	}
	purges := f.purges[:0]
	for _, p := range f.purges {
		if p.epoch > oldest {
			purges = append(purges, p)
		}
	}
	clear(f.purges[len(purges):])
	f.purges = purges
	f.pruneAt = 2 * (len(f.uris) + len(f.purges))
}

// invalidated records that the answers of a target URI (see uriOf) were
// invalidated: every key under it, including those a fetch in progress
// has not stored yet (another consumer's).
func (f *fences) invalidated(uri string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epoch++
	if len(f.active) > 0 {
		if f.uris == nil {
			f.uris = map[string]uint64{}
		}
		f.uris[uri] = f.epoch
	}
}

// purged records a PurgePrefix.
func (f *fences) purged(prefix string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epoch++
	if len(f.active) > 0 {
		f.purges = append(f.purges, purgeFence{prefix: prefix, epoch: f.epoch})
	}
}

// crossed reports whether key (of host and path) was invalidated or
// purged after a fetch began in start.
func (f *fences) crossed(start uint64, key, host, path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.epoch == start {
		return false
	}
	if f.uris[uriOf(key)] > start {
		return true
	}
	for _, p := range f.purges {
		if p.epoch > start && purgeMatches(p.prefix, host, path) {
			return true
		}
	}
	return false
}

// purgeMatches reports whether PurgePrefix(prefix) removes the answers of
// host and path.
func purgeMatches(prefix, host, path string) bool {
	if strings.HasPrefix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return strings.HasPrefix(host+path, prefix)
}
