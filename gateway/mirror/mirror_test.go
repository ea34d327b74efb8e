package mirror

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failingBody gives its bytes, then fails as a cut upload does.
type failingBody struct {
	r   io.Reader
	err error
}

func (f *failingBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func (f *failingBody) Close() error { return nil }

// TestClientBodyErrorReachesPrimary: a body that fails while the mirror
// reads it ahead is not copied, and the primary reads the bytes that came
// and then the same error, as it would have without a mirror (a cut
// upload, the route's body limit: the proxy answers it as before).
func TestClientBodyErrorReachesPrimary(t *testing.T) {
	copied := 0
	m, err := New("r", Policy{Upstream: "u", MaxBodyBytes: 1 << 10}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { copied++ }))
	if err != nil {
		t.Fatal(err)
	}
	cut := errors.New("connection reset")
	var got string
	var gotErr error
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got, gotErr = string(b), err
	}))
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Body, req.ContentLength = &failingBody{r: strings.NewReader("partial"), err: cut}, -1
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != "partial" || !errors.Is(gotErr, cut) {
		t.Fatalf("primary read %q, %v; want the bytes sent and the client's error", got, gotErr)
	}
	if m.inFlight.Load() != 0 || copied != 0 {
		t.Fatalf("a failed body was copied (%d) or kept a slot (%d)", copied, m.inFlight.Load())
	}
}

// TestNewRefusesInvalid: New checks the policy as the configuration does.
func TestNewRefusesInvalid(t *testing.T) {
	pct := -1
	_, err := New("r", Policy{Upstream: "u", Percent: &pct}, http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "percent: -1 is not a percentage (0-100)") {
		t.Fatalf("New = %v", err)
	}
	if _, err := New("r", Policy{Upstream: "u"}, nil); err == nil {
		t.Fatal("New accepted no handler")
	}
}
