package accesslog_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/requestid"
)

func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time and duration so the output below is stable.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	// In the gateway these go to the route table (route.WithMiddleware),
	// which also fills route, upstream, instance and attempts.
	h := requestid.Middleware(accesslog.Middleware(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nobody home", http.StatusServiceUnavailable)
	})))

	req := httptest.NewRequest("GET", "/users/7?token=secret", nil)
	req.Header.Set(requestid.Header, "abc-123")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// level=WARN msg=request method=GET path=/users/7 route=unmatched upstream="" instance="" attempts=0 status=503 bytes=12 request_id=abc-123 remote=192.0.2.1:1234
}
