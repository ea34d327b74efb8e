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
