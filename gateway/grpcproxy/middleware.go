package grpcproxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

// Middleware makes the gateway answer gRPC callers in gRPC. For a gRPC call
// (grpcstatus.IsGRPC) it
//   - bounds the request by the caller's grpc-timeout (a malformed one is
//     refused with INTERNAL, as grpc-go servers do); a route timeout inside
//     still applies, so the earlier deadline wins, and Transport sends the
//     time left upstream;
//   - turns an answer of the gateway itself — a problem+json body, whatever
//     middleware or handler wrote it — into a trailers-only gRPC response:
//     HTTP 200, grpc-status from grpcstatus.FromHTTP and the problem's
//     detail as grpc-message. Answers from upstreams pass untouched.
//
// Mount it outside the middleware whose refusals it should translate
// (authentication, rate limits) and inside metrics and the access log, so
// those record the response as sent. Other requests pass through as they
// are.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !grpcstatus.IsGRPC(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if v := r.Header.Get(grpcstatus.HeaderTimeout); v != "" {
			d, err := ParseTimeout(v)
			if err != nil {
				if info := request.InfoFrom(ctx); info != nil {
					info.SetError("malformed grpc-timeout")
				}
				WriteStatus(w, grpcstatus.Internal, "malformed grpc-timeout: "+strconv.Quote(v))
				return
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		if len(r.Trailer) > 0 {
			// The reverse proxy copies the request before its trailers
			// arrive; Transport fills them in from this map.
			ctx = context.WithValue(ctx, trailerKey{}, r.Trailer)
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		sw.finish()
	})
}

type trailerKey struct{}

// WriteStatus sends a trailers-only gRPC response: HTTP 200 with
// grpc-status and grpc-message in the headers and no body. Nothing must
// have been written to w yet.
func WriteStatus(w http.ResponseWriter, code grpcstatus.Code, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	h.Del("Cache-Control")
	h.Set("Content-Type", grpcstatus.ContentType)
	h.Set(grpcstatus.HeaderStatus, strconv.Itoa(int(code)))
	if msg != "" {
		h.Set(grpcstatus.HeaderMessage, grpcstatus.EncodeMessage(msg))
	}
	w.WriteHeader(http.StatusOK)
}

// maxProblemBody bounds what is kept of a problem body to find its detail.
const maxProblemBody = 8 << 10

// statusWriter holds back a problem+json answer and sends it as a gRPC
// status when the handler returns.
type statusWriter struct {
	http.ResponseWriter
	status  int    // HTTP status of the gateway's own answer held back; 0 if none
	started bool   // a final status went through
	body    []byte // the held-back problem body, bounded
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.started && w.status == 0 && code >= 200 && w.Header().Get("Content-Type") == problem.ContentType {
		w.status = code
		return
	}
	if w.status != 0 {
		return
	}
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		if room := maxProblemBody - len(w.body); room > 0 {
			w.body = append(w.body, b[:min(len(b), room)]...)
		}
		return len(b), nil
	}
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher; a held-back answer is not flushed.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// FlushError flushes the writer underneath, unless an answer is held back.
func (w *statusWriter) FlushError() error {
	if w.status != 0 {
		return nil
	}
	w.started = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer (full
// duplex, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends the held-back answer, if any, as a gRPC status.
func (w *statusWriter) finish() {
	if w.status == 0 {
		return
	}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(w.body, &p) // a cut body leaves the message empty
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if msg == "" {
		msg = http.StatusText(w.status)
	}
	WriteStatus(w.ResponseWriter, grpcstatus.FromHTTP(w.status), msg)
}
