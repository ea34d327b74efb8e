package proxy

import (
	"net/http"
	"strconv"

	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

// LimitBody refuses request bodies larger than max bytes: at once with 413
// when Content-Length says so, and while streaming otherwise (the proxy turns
// the read error into 413 if no response was sent yet). The body is never
// buffered.
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				d := problem.Details{Status: http.StatusRequestEntityTooLarge,
					Detail: "request body of " + strconv.FormatInt(r.ContentLength, 10) + " bytes exceeds the limit of " + strconv.FormatInt(max, 10)}
				if info := request.InfoFrom(r.Context()); info != nil {
					d.Route = info.Route
					info.SetError("request body too large")
				}
				w.Header().Set("Connection", "close")
				problem.Write(w, d)
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}
