package accesslog

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestGRPCStatusLogged: a gRPC call's line carries its grpc_status, and a
// server-side failure is a warning although HTTP says 200.
func TestGRPCStatusLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	serve := func(h http.HandlerFunc) string {
		buf.Reset()
		Middleware(logger)(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/a.B/C", nil))
		return buf.String()
	}
	line := serve(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("x"))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	})
	if !strings.Contains(line, `"level":"INFO"`) || !strings.Contains(line, `"grpc_status":0`) {
		t.Errorf("OK call: %s", line)
	}
	line = serve(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Grpc-Status", "14"); w.WriteHeader(200) })
	if !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, `"status":200`) || !strings.Contains(line, `"grpc_status":14`) {
		t.Errorf("UNAVAILABLE call: %s", line)
	}
	line = serve(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Grpc-Status", "16"); w.WriteHeader(200) })
	if !strings.Contains(line, `"level":"INFO"`) || !strings.Contains(line, `"grpc_status":16`) {
		t.Errorf("UNAUTHENTICATED call (the caller's fault): %s", line)
	}
	if line = serve(func(w http.ResponseWriter, r *http.Request) {}); strings.Contains(line, "grpc_status") {
		t.Errorf("plain HTTP: %s", line)
	}
}
