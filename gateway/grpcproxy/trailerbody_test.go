package grpcproxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestTrailerBodyCopiesDeclaredOnly: when the client's body ends, only the
// trailers declared on the upstream request (those the proxy kept) get
// their values. The HTTP/2 transport sends every key of Request.Trailer,
// declared or not, so copying the client's whole map sent the trailers the
// proxy had dropped (X-Forwarded-For, identity headers) to any upstream
// that is not a Go server (Go's ignores undeclared trailers).
func TestTrailerBodyCopiesDeclaredOnly(t *testing.T) {
	in := http.Header{"X-Checksum": {"c0ffee"}, "X-Forwarded-For": {"6.6.6.6"}}
	out := http.Header{"X-Checksum": nil}
	b := &trailerBody{ReadCloser: io.NopCloser(strings.NewReader("body")), in: in, out: out}
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out.Get("X-Checksum") != "c0ffee" {
		t.Errorf("upstream trailers %v, want only X-Checksum: c0ffee", out)
	}
}
