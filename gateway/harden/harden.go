// Package harden bounds what a client may send before any route sees the
// request. The http.Server settings do most of it — MaxHeaderBytes (the
// request line and all headers), ReadHeaderTimeout (slow-header clients,
// "slowloris"), IdleTimeout (idle keep-alive connections) — and
// gateway.Server sets them; the request body is limited per route while it
// streams (proxy.LimitBody). What http.Server cannot bound is the number
// of header fields: many tiny headers fit in MaxHeaderBytes yet cost a map
// entry each in every handler and the upstream. MaxHeaderCount bounds that.
//
// The route table refuses paths that are not in normal form or could mean
// another path to an upstream (route.NormalizePath), so that route
// policies act on the path the upstream sees.
package harden

import (
	"net/http"
	"strconv"

	"github.com/gatescale/gatescale/gateway/problem"
)

// HeaderCount is the number of header field lines of h (each value of a
// repeated header counts).
func HeaderCount(h http.Header) int {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	return n
}

// TooManyHeaders answers 431 Request Header Fields Too Large for a request
// with n header fields over max, and closes the connection.
func TooManyHeaders(w http.ResponseWriter, n, max int) {
	w.Header().Set("Connection", "close")
	problem.Write(w, problem.Details{Status: http.StatusRequestHeaderFieldsTooLarge,
		Detail: "the request has " + strconv.Itoa(n) + " header fields; the limit is " + strconv.Itoa(max)})
}

// MaxHeaderCount answers 431 Request Header Fields Too Large to requests
// with more than max header field lines (each value of a repeated header
// counts). Put it outermost, around a handler; the gateway's route table
// applies the same limit itself (route.WithMaxHeaderCount), so that such
// refusals are counted and logged with the other malformed requests.
func MaxHeaderCount(max int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n := HeaderCount(r.Header); n > max {
				TooManyHeaders(w, n, max)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
