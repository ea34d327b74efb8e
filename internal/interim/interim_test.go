package interim_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatescale/gatescale/internal/interim"
)

// headerAtWrite records the header map as it was at each WriteHeader.
type headerAtWrite struct {
	h     http.Header
	codes []int
	seen  []http.Header
}

func (w *headerAtWrite) Header() http.Header         { return w.h }
func (w *headerAtWrite) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerAtWrite) WriteHeader(code int) {
	w.codes = append(w.codes, code)
	w.seen = append(w.seen, w.h.Clone())
}

func TestWriteRestoresHeader(t *testing.T) {
	w := &headerAtWrite{h: http.Header{
		"Link":         {"</final.css>; rel=preload"},
		"X-Request-Id": {"abc"},
		"Date":         nil, // a nil value suppresses the field: kept as it was
	}}
	interim.Write(w, http.StatusEarlyHints, http.Header{
		"Link":  {"</a.css>; rel=preload", "</b.js>; rel=preload"},
		"Date":  {"x"},
		"X-New": {"1"},
	})
	if !slices.Equal(w.codes, []int{103}) {
		t.Fatalf("codes %v", w.codes)
	}
	sent := w.seen[0]
	if !slices.Equal(sent["Link"], []string{"</a.css>; rel=preload", "</b.js>; rel=preload"}) || sent.Get("X-Request-Id") != "abc" || sent.Get("X-New") != "1" {
		t.Errorf("interim header %v", sent)
	}
	after := w.h
	if !slices.Equal(after["Link"], []string{"</final.css>; rel=preload"}) || after.Get("X-Request-Id") != "abc" {
		t.Errorf("header after %v", after)
	}
	if v, ok := after["Date"]; !ok || v != nil {
		t.Errorf("Date after: %v %v, want present and nil", v, ok)
	}
	if _, ok := after["X-New"]; ok {
		t.Errorf("X-New left in the final header: %v", after)
	}
}
