package logcapture_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatescale/gatescale/internal/logcapture"
)

// Writers and readers at once (run with -race): every write arrives
// whole, and Lines splits at the newlines only.
func TestConcurrentWritesAndReads(t *testing.T) {
	var b logcapture.Buffer
	if got := b.Lines(); got != nil {
		t.Fatalf("empty buffer: %q, want no lines", got)
	}
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		for _, l := range b.Lines() {
			if !strings.HasPrefix(l, "writer ") {
				t.Fatalf("torn line %q", l)
			}
		}
	}
	if got := len(b.Lines()); got != writers*each {
		t.Errorf("%d lines, want %d", got, writers*each)
	}
	fmt.Fprint(&b, "unended")
	if l := b.Lines(); l[len(l)-1] != "unended" || len(l) != writers*each+1 {
		t.Errorf("a last line without a newline: %q", l[len(l)-1])
	}
}
