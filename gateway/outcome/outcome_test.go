package outcome

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/request"
)

func TestWrapReuses(t *testing.T) {
	rec := Wrap(httptest.NewRecorder())
	if Wrap(rec) != rec {
		t.Fatal("Wrap wrapped a Recorder again")
	}
}

func TestRecorderStatusAndBytes(t *testing.T) {
	for _, c := range []struct {
		name       string
		do         func(w http.ResponseWriter)
		status     int
		bytes      int64
		underlying int
	}{
		{"nothing", func(http.ResponseWriter) {}, 0, 0, 200},
		{"write only", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "abc") }, 200, 3, 200},
		{"header then write", func(w http.ResponseWriter) {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, "nope")
			w.WriteHeader(500) // superfluous: ignored like net/http does
		}, 404, 4, 404},
		{"early hints then 200", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, 201, 0, -1}, // httptest.ResponseRecorder keeps the 103
		{"flush sends 200", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, 0, 200},
		{"read from", func(w http.ResponseWriter) {
			// Hide WriteTo so io.Copy goes through ReadFrom.
			_, _ = io.Copy(w, struct{ io.Reader }{strings.NewReader("0123456789")})
		}, 200, 10, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			under := httptest.NewRecorder()
			rec := Wrap(under)
			c.do(rec)
			if rec.Status() != c.status || rec.Bytes() != c.bytes {
				t.Errorf("status %d bytes %d, want %d %d", rec.Status(), rec.Bytes(), c.status, c.bytes)
			}
			if c.underlying != -1 && under.Code != c.underlying {
				t.Errorf("underlying writer got %d, want %d", under.Code, c.underlying)
			}
			if int64(under.Body.Len()) != c.bytes {
				t.Errorf("underlying body %d bytes, want %d", under.Body.Len(), c.bytes)
			}
		})
	}
}

// readerFromWriter records whether ReadFrom reached it.
type readerFromWriter struct {
	http.ResponseWriter
	used bool
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.used = true
	return io.Copy(w.ResponseWriter, r)
}

func TestReadFromPassesThrough(t *testing.T) {
	under := &readerFromWriter{ResponseWriter: httptest.NewRecorder()}
	rec := Wrap(under)
	n, err := io.Copy(rec, struct{ io.Reader }{bytes.NewReader(make([]byte, 1000))})
	if err != nil || n != 1000 {
		t.Fatalf("copied %d, %v", n, err)
	}
	if !under.used {
		t.Error("io.Copy did not reach the underlying ReadFrom")
	}
	if rec.Bytes() != 1000 || rec.Status() != 200 {
		t.Errorf("bytes %d status %d", rec.Bytes(), rec.Status())
	}
}

// plainWriter has none of the optional interfaces.
type plainWriter struct{ http.ResponseWriter }

func TestUnsupportedOptionalInterfaces(t *testing.T) {
	rec := Wrap(plainWriter{httptest.NewRecorder()})
	if err := http.NewResponseController(rec).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Flush on a non-flusher: %v, want ErrNotSupported", err)
	}
	if _, _, err := rec.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack on a non-hijacker: %v, want ErrNotSupported", err)
	}
	if rec.Hijacked() {
		t.Error("failed hijack recorded as hijacked")
	}
}

func TestResponseControllerUnwraps(t *testing.T) {
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := Wrap(w)
		rc := http.NewResponseController(rec)
		errc <- errors.Join(rc.SetWriteDeadline(time.Now().Add(time.Minute)), rc.EnableFullDuplex())
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-errc; err != nil {
		t.Errorf("ResponseController through Recorder: %v", err)
	}
}

func TestStatus(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	withInfo := func(ctx context.Context, errText string) context.Context {
		info := &request.Info{Route: "r"}
		info.SetError(errText)
		return request.WithInfo(ctx, info)
	}
	for _, c := range []struct {
		name     string
		ctx      context.Context
		prepare  func(*Recorder)
		panicked bool
		want     int
	}{
		{"default", context.Background(), nil, false, 200},
		{"written", context.Background(), func(r *Recorder) { r.WriteHeader(503) }, false, 503},
		{"proxy says client closed", withInfo(context.Background(), ErrClientClosed), func(r *Recorder) { r.WriteHeader(502) }, false, 499},
		{"other proxy error keeps status", withInfo(context.Background(), "upstream timeout"), func(r *Recorder) { r.WriteHeader(504) }, false, 504},
		{"canceled, nothing written", canceled, nil, false, 499},
		{"canceled after response", canceled, func(r *Recorder) { r.WriteHeader(200) }, false, 200},
		{"deadline is not the client", timedOut(), nil, false, 200},
		{"panic before writing", context.Background(), nil, true, 500},
		{"panic after writing", context.Background(), func(r *Recorder) { r.WriteHeader(201) }, true, 201},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := Wrap(httptest.NewRecorder())
			if c.prepare != nil {
				c.prepare(rec)
			}
			r := httptest.NewRequest("GET", "/", nil).WithContext(c.ctx)
			if got := Status(r, rec, c.panicked); got != c.want {
				t.Errorf("Status = %d, want %d", got, c.want)
			}
		})
	}
}

func timedOut() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	_ = cancel // already expired; nothing to release early
	return ctx
}

func TestRoute(t *testing.T) {
	r := httptest.NewRequest("GET", "/users/7", nil)
	if got := Route(r); got != Unmatched {
		t.Errorf("bare request: %q", got)
	}
	rctx := chi.NewRouteContext()
	rctx.RoutePatterns = []string{"/users/{id}"}
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
	if got := Route(r); got != "/users/{id}" {
		t.Errorf("chi request: %q", got)
	}
	r = r.WithContext(request.WithInfo(r.Context(), &request.Info{}))
	if got := Route(r); got != "/users/{id}" {
		t.Errorf("Info without a route name must fall back to chi: %q", got)
	}
	r = r.WithContext(request.WithInfo(r.Context(), &request.Info{Route: "users"}))
	if got := Route(r); got != "users" {
		t.Errorf("routed request: %q", got)
	}
}
