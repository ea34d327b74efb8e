package accesslog

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
)

// Middleware returns middleware that logs every request to logger; see the
// package doc for the attributes.
func Middleware(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := outcome.Wrap(w)
			panicked := true
			// Deferred so a panicking request is logged too (as a 500).
			defer func() { write(logger, r, rec, start, panicked) }()
			next.ServeHTTP(rec, r)
			panicked = false
		})
	}
}

func write(logger *slog.Logger, r *http.Request, rec *outcome.Recorder, start time.Time, panicked bool) {
	d := time.Since(start)
	status := outcome.Status(r, rec, panicked)
	level := slog.LevelInfo
	grpcCode, isGRPC := grpcstatus.FromHeader(rec.Header())
	if status >= 500 || isGRPC && serverFault(grpcCode) {
		level = slog.LevelWarn
	}
	ctx := r.Context()
	if !logger.Enabled(ctx, level) {
		return
	}
	var st request.InfoState
	if info := request.InfoFrom(ctx); info != nil {
		st = info.State()
	}
	upstream, instance, attempts, errText := st.Upstream, st.Instance, st.Attempts, st.Error
	id := requestid.From(ctx)
	if id == "" {
		id = rec.Header().Get(requestid.Header)
	}
	attrs := [...]slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", outcome.Route(r)),
		slog.String("upstream", upstream),
		slog.String("instance", instance),
		slog.Int("attempts", attempts),
		slog.Int("status", status),
		slog.Int64("bytes", rec.Bytes()),
		slog.Duration("duration", d),
		slog.String("request_id", id),
		slog.String("remote", r.RemoteAddr),
		slog.String("error", errText),
	}
	n := len(attrs)
	if errText == "" {
		n-- // error is last: drop it when there is none
	}
	if isGRPC {
		// A gRPC call: its outcome is the grpc-status, the HTTP status is
		// 200 whatever happened.
		logger.LogAttrs(ctx, level, "request", append(attrs[:n:n], slog.Int("grpc_status", int(grpcCode)))...)
		return
	}
	logger.LogAttrs(ctx, level, "request", attrs[:n]...)
}

// serverFault reports whether a gRPC code is a server-side failure, logged
// at warning level like an HTTP 5xx.
func serverFault(c grpcstatus.Code) bool {
	switch c {
	case grpcstatus.Unknown, grpcstatus.DeadlineExceeded, grpcstatus.Unimplemented,
		grpcstatus.Internal, grpcstatus.Unavailable, grpcstatus.DataLoss:
		return true
	}
	return false
}
