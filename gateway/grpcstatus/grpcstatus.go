package grpcstatus

import (
	"net/http"
	"strconv"
	"strings"
)

// Code is a gRPC status code (google.golang.org/grpc/codes, without the
// dependency).
type Code uint32

// The gRPC status codes.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

// NumCodes is the number of defined codes; codes at or above it are not
// defined and String names them all "UNKNOWN", which keeps a label bounded.
const NumCodes = 17

var names = [NumCodes]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// String returns the code's canonical name (as in the gRPC spec), or
// "UNKNOWN" for an undefined code.
func (c Code) String() string {
	if c < NumCodes {
		return names[c]
	}
	return names[Unknown]
}

// Header names of the gRPC protocol (canonical form).
const (
	HeaderStatus  = "Grpc-Status"
	HeaderMessage = "Grpc-Message"
	HeaderTimeout = "Grpc-Timeout"
	// ContentType is the media type of gRPC requests and responses; a
	// subtype may follow ("application/grpc+proto").
	ContentType = "application/grpc"
)

// IsGRPC reports whether r is a gRPC call: its Content-Type is
// application/grpc or application/grpc+<codec>. gRPC-Web
// (application/grpc-web) is not gRPC on the wire and is not matched.
func IsGRPC(r *http.Request) bool { return IsGRPCContentType(r.Header.Get("Content-Type")) }

// IsGRPCContentType reports whether ct is application/grpc or
// application/grpc+<codec> (parameters allowed, any case).
func IsGRPCContentType(ct string) bool {
	if len(ct) < len(ContentType) || !strings.EqualFold(ct[:len(ContentType)], ContentType) {
		return false
	}
	rest := ct[len(ContentType):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}

// FromHTTP is the code for an HTTP status the gateway itself answers with
// (no route, refused authentication, rate limit, timeout, no healthy
// instance...). It follows the gRPC spec's HTTP-to-gRPC mapping, except
// where the gateway knows better what its own status means: 429 and 413
// are RESOURCE_EXHAUSTED (a limit, not an outage) and 504 and 408 are
// DEADLINE_EXCEEDED (the gateway's deadline, not an unreachable peer).
func FromHTTP(status int) Code {
	switch status {
	case http.StatusOK:
		return OK
	case http.StatusBadRequest:
		return Internal
	case http.StatusUnauthorized:
		return Unauthenticated
	case http.StatusForbidden:
		return PermissionDenied
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusGone:
		return Unimplemented
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return DeadlineExceeded
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusRequestHeaderFieldsTooLarge:
		return ResourceExhausted
	case 499: // client closed request
		return Canceled
	case http.StatusInternalServerError:
		return Internal
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return Unavailable
	}
	return Unknown
}

// FromHeader returns the grpc-status that a response whose handler has
// returned carried: a header of a trailers-only response, a declared
// trailer, or an undeclared trailer set with http.TrailerPrefix (as
// httputil.ReverseProxy copies an upstream's gRPC trailers). ok is false
// when there is none or it is not a number.
func FromHeader(h http.Header) (c Code, ok bool) {
	v := h.Get(HeaderStatus)
	if v == "" {
		v = h.Get(http.TrailerPrefix + HeaderStatus)
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return Unknown, true
	}
	return Code(n), true
}

// EncodeMessage percent-encodes a status message as the gRPC spec asks
// for grpc-message: bytes outside printable ASCII, and '%', as %XX.
func EncodeMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}
