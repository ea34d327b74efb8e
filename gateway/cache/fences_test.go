package cache

import (
	"strconv"
	"testing"
)

func TestFences(t *testing.T) {
	var f fences
	before := f.begin()
	f.invalidated("a")
	after := f.begin()
	if !f.crossed(before, "a", "h", "/a") || f.crossed(before, "b", "h", "/b") || f.crossed(after, "a", "h", "/a") {
		t.Fatal("an invalidation must fence exactly the fetches of its key that began before it")
	}
	f.purged("/users/")
	if !f.crossed(after, "k", "h", "/users/1") || f.crossed(after, "k", "h", "/orders/1") {
		t.Fatal("a purge must fence the fetches under its prefix that began before it")
	}
	f.end(before)
	f.end(after)
	if f.uris != nil || f.purges != nil {
		t.Fatalf("records kept with no fetch in progress: %v %v", f.uris, f.purges)
	}

	// Under steady traffic a fetch is always in progress, each overlapping
	// a write: the records of writes no fetch in progress predates go.
	prev := f.begin()
	for i := range 10000 {
		next := f.begin()
		f.invalidated("key" + strconv.Itoa(i))
		f.end(prev)
		prev = next
	}
	if n := len(f.uris); n > 200 {
		t.Fatalf("%d invalidation records kept for 1 fetch in progress", n)
	}
	if !f.crossed(prev, "key9999", "", "") {
		t.Fatal("pruning dropped a record the fetch in progress needs")
	}
}
