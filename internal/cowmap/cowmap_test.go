package cowmap

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Concurrent readers and writers: every key is created once, every reader
// sees the value stored for its key, Delete removes only its key.
func TestConcurrent(t *testing.T) {
	var m Map[string, *int]
	var created atomic.Int64
	create := func(k string) *int { created.Add(1); n, _ := strconv.Atoi(k); return &n }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := strconv.Itoa((i + g) % 50)
				if v := m.Get(k, create); strconv.Itoa(*v) != k {
					t.Errorf("Get(%s) = %d", k, *v)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := created.Load(); n != 50 || m.Len() != 50 {
		t.Fatalf("created %d values for %d keys, want 50 for 50", n, m.Len())
	}
	m.Delete("7")
	m.Delete("missing")
	if _, ok := m.Load("7"); ok || m.Len() != 49 {
		t.Fatalf("after Delete: present %v, len %d", ok, m.Len())
	}
	if v, ok := m.Load("8"); !ok || *v != 8 {
		t.Fatal("Delete removed another key")
	}
}

func TestGetWithinBound(t *testing.T) {
	var m Map[string, string]
	id := func(k string) string { return k }
	for i := range 10 {
		m.GetWithin(strconv.Itoa(i), 3, "other", id)
	}
	if got := m.GetWithin("9", 3, "other", id); got != "other" || m.Len() != 4 {
		t.Fatalf("got %q with %d keys, want other with 4 (3 + other)", got, m.Len())
	}
	if got := m.GetWithin("1", 3, "other", id); got != "1" {
		t.Fatalf("a key within the bound is served as %q", got)
	}
}

func TestZeroAndReadAllocations(t *testing.T) {
	var m Map[string, int]
	if _, ok := m.Load("x"); ok || m.Len() != 0 {
		t.Fatal("zero Map not empty")
	}
	m.Delete("x")
	m.Get("x", func(string) int { return 1 })
	if n := testing.AllocsPerRun(100, func() { m.Get("x", func(string) int { return 2 }) }); n != 0 {
		t.Fatalf("a read allocates %.0f times", n)
	}
}
