package refusallog_test

import (
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/gatescale/gatescale/gateway/refusallog"
)

// At most Burst lines at once per reason; the rest are counted and the
// count is logged when the bucket refills, or on Close.
func ExampleLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		}}))
	l := refusallog.New(logger, refusallog.Options{PerSecond: 1, Burst: 2})
	r := httptest.NewRequest("GET", "/files/a%2Fb?api_key=not-logged", nil)
	for range 5 {
		l.Log(r, "encoded slash")
	}
	l.Close()
	// Output:
	// level=WARN msg="request refused" reason="encoded slash" method=GET path=/files/a%2Fb client=192.0.2.1
	// level=WARN msg="request refused" reason="encoded slash" method=GET path=/files/a%2Fb client=192.0.2.1
	// level=WARN msg="refused requests not logged" reason="encoded slash" suppressed=3
}

func ExampleSanitize() {
	println := func(s string) { os.Stdout.WriteString(s + "\n") }
	println(refusallog.Sanitize("/log\r\nlevel=ERROR forged", 64))
	println(refusallog.Sanitize("/very/long/path/that/goes/on", 16))
	// Output:
	// /log%0D%0Alevel=ERROR forged
	// /very/long/pa...
}

// New writes at level Warn; zero Options fields take the defaults
// (DefaultPerSecond, DefaultBurst, DefaultMaxPath), and a path longer than
// MaxPath is cut, with its full length alongside.
func ExampleNew() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		}}))
	l := refusallog.New(logger, refusallog.Options{MaxPath: 16})
	defer l.Close()
	r := httptest.NewRequest("GET", "/static/%2e%2e/%2e%2e/etc/passwd", nil)
	l.Log(r, "dot segment")

	// A logger that drops Warn gets no lines at all.
	quiet := refusallog.New(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelError})), refusallog.Options{})
	quiet.Log(r, "dot segment")
	quiet.Close()
	// Output:
	// level=WARN msg="request refused" reason="dot segment" method=GET path=/static/%2e... path_bytes=32 client=192.0.2.1
}
