package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/units"
)

// writeLog records each Write separately, to tell one batch from many.
type writeLog struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *writeLog) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// With a buffer, lines wait until Flush and then go out in one Write,
// whole and in order.
func TestBufferHoldsLinesUntilFlush(t *testing.T) {
	var out writeLog
	l := newLog(t, Options{Writer: &out, Buffer: 64 << 10, FlushInterval: units.Duration(time.Hour)})
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	for i := range 10 {
		serve(h, "GET", "/n"+string(rune('0'+i)))
	}
	if got := out.get(); len(got) != 0 {
		t.Fatalf("%d writes before any flush, want 0 (buffered)", len(got))
	}
	l.Flush()
	got := out.get()
	if len(got) != 1 {
		t.Fatalf("%d writes after Flush, want 1", len(got))
	}
	lines := splitLines(got[0])
	if len(lines) != 10 {
		t.Fatalf("%d lines in the batch, want 10", len(lines))
	}
	for i, line := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil || v["path"] != "/n"+string(rune('0'+i)) {
			t.Fatalf("line %d: %q (%v)", i, line, err)
		}
	}
}

// A full buffer is written before the line that does not fit, so every
// Write ends on a line's end and stays within the buffer's size; a line
// larger than the buffer goes out alone.
func TestBufferFullWritesWholeLines(t *testing.T) {
	var out writeLog
	const size = 600
	l := newLog(t, Options{Writer: &out, Buffer: size, FlushInterval: units.Duration(time.Hour)})
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	for range 20 {
		serve(h, "GET", "/users/7")
	}
	serve(h, "GET", "/"+strings.Repeat("x", 2*size))
	l.Flush()
	got := out.get()
	if len(got) < 3 {
		t.Fatalf("%d writes for 21 lines through a %d-byte buffer", len(got), size)
	}
	n := 0
	for i, w := range got {
		if !strings.HasSuffix(w, "\n") {
			t.Fatalf("write %d does not end a line: %q", i, w)
		}
		if len(w) > size && strings.Count(w, "\n") != 1 {
			t.Fatalf("write %d: %d bytes, over the buffer, with %d lines", i, len(w), strings.Count(w, "\n"))
		}
		n += strings.Count(w, "\n")
	}
	if n != 21 {
		t.Fatalf("%d lines written, want 21", n)
	}
}

// A buffered line is written FlushInterval after it was taken, without a
// Flush.
func TestBufferFlushInterval(t *testing.T) {
	var out writeLog
	l := newLog(t, Options{Writer: &out, Buffer: 64 << 10, FlushInterval: units.Duration(20 * time.Millisecond)})
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	for round := 1; round <= 2; round++ { // the timer starts again for a later batch
		serve(h, "GET", "/")
		deadline := time.Now().Add(10 * time.Second)
		for len(out.get()) < round && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := len(out.get()); got != round {
			t.Fatalf("round %d: %d writes, want %d", round, got, round)
		}
	}
}

// Nothing buffered is lost to a change of output, a rotation, a change of
// buffering or Close: each goes to the output it was logged under.
func TestBufferNothingLost(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	o := Options{Output: first, Buffer: 64 << 10, FlushInterval: units.Duration(time.Hour)}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h := routed("r", l.Middleware(proxyLike(200, "", "")))
	serve(h, "GET", "/before-rotation")
	if err := os.Rename(first, first+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/before-output-change")
	o.Output = second
	if err := l.Apply(o); err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/before-unbuffered")
	o.Buffer, o.FlushInterval = 0, 0
	if err := l.Apply(o); err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/unbuffered")
	o.Buffer = 64 << 10
	if err := l.Apply(o); err != nil {
		t.Fatal(err)
	}
	serve(h, "GET", "/before-close")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		first + ".1": {"/before-rotation"},
		first:        {"/before-output-change"},
		second:       {"/before-unbuffered", "/unbuffered", "/before-close"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := splitLines(string(b))
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines, want %q:\n%s", filepath.Base(file), len(lines), want, b)
		}
		for i, p := range want {
			if !bytes.Contains([]byte(lines[i]), []byte(`"path":"`+p+`"`)) {
				t.Errorf("%s line %d: %q, want path %s", filepath.Base(file), i, lines[i], p)
			}
		}
	}
}

func TestBufferValidate(t *testing.T) {
	for _, c := range []struct {
		o     Options
		field string
		msg   string
	}{
		{Options{Buffer: -1}, "buffer", "not between 0 and 16MiB"},
		{Options{Buffer: MaxBuffer + 1}, "buffer", "not between 0 and 16MiB"},
		{Options{FlushInterval: units.Duration(time.Second)}, "flush_interval", "only with a buffer"},
		{Options{Buffer: 4096, FlushInterval: units.Duration(-time.Second)}, "flush_interval", "negative"},
	} {
		var fe *FieldError
		if err := c.o.Validate(); !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.msg) {
			t.Errorf("%+v: err = %v, want %s: …%s…", c.o, err, c.field, c.msg)
		}
	}
	if err := (Options{Buffer: MaxBuffer, FlushInterval: units.Duration(time.Second)}).Validate(); err != nil {
		t.Error(err)
	}
}
