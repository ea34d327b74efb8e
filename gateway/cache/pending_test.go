package cache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A fetch that ends in a panic (the proxy aborts a broken-off answer)
// gives back the budget its buffer held, or the store would stop storing
// after enough of them.
func TestPendingReleasedOnAbort(t *testing.T) {
	s, err := NewStore(StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := New(s, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "partial")
		if s.pending.Load() == 0 {
			t.Error("the buffered body holds no budget")
		}
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	}()
	if n := s.pending.Load(); n != 0 {
		t.Fatalf("%d bytes of the budget still held after the fetch ended", n)
	}
}
