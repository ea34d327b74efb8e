package accesslog_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/requestid"
	"github.com/gatescale/gatescale/gateway/units"
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

// A Log with a chosen format and fields, changed at run time.
func ExampleNew() {
	log, err := accesslog.New(accesslog.Options{
		Format:       accesslog.FormatText,
		Fields:       []string{accesslog.KeyMethod, accesslog.KeyPath, accesslog.KeyStatus},
		ExcludePaths: []string{"/healthz"},
		Writer:       timeless{os.Stdout},
	})
	if err != nil {
		panic(err)
	}
	defer log.Close()
	// In the gateway: gateway.WithAccessLog(false), gateway.WithMiddleware(log.Middleware).
	h := log.Middleware(http.NotFoundHandler())
	for _, p := range []string{"/healthz", "/users/7"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	// A reload: the next requests get the common log format.
	if err := log.Apply(accesslog.Options{Format: accesslog.FormatCommon, Writer: timeless{os.Stdout}}); err != nil {
		panic(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/8", nil))
	// Output:
	// level=INFO msg=request method=GET path=/users/7 status=404
	// 192.0.2.1 - - [TIME] "GET /users/8 HTTP/1.1" 404 19
}

// timeless drops the time from a line so the output above is stable.
type timeless struct{ w io.Writer }

func (t timeless) Write(b []byte) (int, error) {
	s := regexp.MustCompile(`time=\S+ |\[[^]]+\]`).ReplaceAllStringFunc(string(b), func(m string) string {
		if m[0] == '[' {
			return "[TIME]"
		}
		return ""
	})
	_, err := io.WriteString(t.w, s)
	return len(b), err
}

// Log rotation: rename the file, then Reopen (gatescale does it on SIGHUP
// with ReopenOn).
func ExampleLog_Reopen() {
	dir, _ := os.MkdirTemp("", "accesslog")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "access.log")
	log, err := accesslog.New(accesslog.Options{Output: path, Format: accesslog.FormatCommon})
	if err != nil {
		panic(err)
	}
	defer log.Close()
	h := log.Middleware(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/before", nil))
	_ = os.Rename(path, path+".1")
	if err := log.Reopen(); err != nil {
		panic(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/after", nil))
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	fmt.Println(strings.Contains(string(old), "/before"), strings.Contains(string(cur), "/after"), strings.Contains(string(cur), "/before"))
	// Output: true true false
}

// Prepare checks and opens everything; nothing changes until Commit, so a
// caller can apply the access log together with the rest of a
// configuration, or Discard it.
func ExampleLog_Prepare() {
	log, _ := accesslog.New(accesslog.Options{Writer: io.Discard})
	defer log.Close()
	ratio := 0.1
	p, err := log.Prepare(accesslog.Options{SampleRatio: &ratio, Writer: io.Discard})
	if err != nil {
		panic(err)
	}
	p.Commit()
	fmt.Println(*log.Options().SampleRatio)
	_, err = log.Prepare(accesslog.Options{Format: "xml"})
	fmt.Println(err)
	// Output:
	// 0.1
	// format: "xml" is not one of json, text, common, combined
}

// With Buffer, lines are written in batches: when the buffer fills, after
// FlushInterval, and on Flush, Reopen, a change of output or Close.
func ExampleLog_Flush() {
	dir, _ := os.MkdirTemp("", "accesslog")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "access.log")
	log, err := accesslog.New(accesslog.Options{Output: path, Format: accesslog.FormatCommon,
		Buffer: 64 << 10, FlushInterval: units.Duration(time.Hour)})
	if err != nil {
		panic(err)
	}
	defer log.Close()
	h := log.Middleware(http.NotFoundHandler())
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))
	}
	held, _ := os.ReadFile(path)
	log.Flush()
	written, _ := os.ReadFile(path)
	fmt.Println(strings.Count(string(held), "\n"), strings.Count(string(written), "\n"))
	// Output: 0 3
}

// Middleware logs a 5xx at Warn and the rest at Info, so a logger at Warn
// keeps only the failures; a request whose handler panics is logged as a
// 500 before the panic goes on.
func ExampleMiddleware() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		// Keep a few attributes so the output below is short and stable.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.LevelKey, slog.MessageKey, "method", "path", "status":
				return a
			}
			return slog.Attr{}
		},
	}))
	h := accesslog.Middleware(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/bug":
			panic("boom")
		}
	}))
	for _, path := range []string{"/ok", "/down", "/bug"} {
		func() {
			defer func() {
				if v := recover(); v != nil {
					fmt.Println("recovered:", v) // net/http's server would do this
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		}()
	}
	// Output:
	// level=WARN msg=request method=GET path=/down status=503
	// level=WARN msg=request method=GET path=/bug status=500
	// recovered: boom
}
