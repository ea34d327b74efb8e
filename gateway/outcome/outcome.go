package outcome

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/request"
)

const (
	// StatusClientClosedRequest is reported when the client went away before
	// it got a response (nginx's convention; not a real HTTP status).
	StatusClientClosedRequest = 499

	// ErrClientClosed is the request.Info error the proxy sets when the client
	// went away before a response.
	ErrClientClosed = "client closed request"

	// Unmatched is the route label of requests with no known route.
	Unmatched = request.Unmatched
)

// Status returns the status to report for r once its handler has returned.
// panicked says the handler did not return normally.
//
// In order: 499 when the proxy says the client went away; the status the
// handler wrote; 101 for a hijacked connection (the gateway hijacks only to
// upgrade protocols, and the proxy writes the 101 on the raw connection); 499
// when nothing was written and the request context was canceled; 500 when
// the handler panicked before writing; else 200, which is what net/http sends
// for a handler that writes nothing.
func Status(r *http.Request, rec *Recorder, panicked bool) int {
	ctx := r.Context()
	if info := request.InfoFrom(ctx); info != nil && info.State().Error == ErrClientClosed {
		return StatusClientClosedRequest
	}
	if s := rec.Status(); s != 0 {
		return s
	}
	if rec.Hijacked() {
		return http.StatusSwitchingProtocols
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return StatusClientClosedRequest
	}
	if panicked {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// Route returns the route label of r: the gatescale route name from
// request.Info, else the pattern chi matched (for middleware mounted on a plain
// chi router), else Unmatched. All three are bounded, unlike the raw path.
// Every reporter labels by it (metrics, access log, authn, authz, rate
// limits), so one request has one route label everywhere.
//
// A chi router fills in the pattern while routing, so middleware mounted
// with Router.Use sees it only after the handler returns.
func Route(r *http.Request) string {
	ctx := r.Context()
	if info := request.InfoFrom(ctx); info != nil && info.Route != "" {
		return info.Route
	}
	if p := chi.RouteContext(ctx).RoutePattern(); p != "" {
		return p
	}
	return Unmatched
}
