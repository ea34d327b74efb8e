package grpcstatus

import (
	"net/http"
	"testing"
)

func TestFromHTTP(t *testing.T) {
	for status, want := range map[int]Code{
		200: OK, 400: Internal, 401: Unauthenticated, 403: PermissionDenied, 404: Unimplemented,
		405: Unimplemented, 408: DeadlineExceeded, 410: Unimplemented, 413: ResourceExhausted,
		429: ResourceExhausted, 431: ResourceExhausted, 499: Canceled, 500: Internal, 501: Unimplemented,
		502: Unavailable, 503: Unavailable, 504: DeadlineExceeded, 418: Unknown, 302: Unknown,
	} {
		if got := FromHTTP(status); got != want {
			t.Errorf("FromHTTP(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestIsGRPCContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc": true, "application/grpc+proto": true, "Application/GRPC": true,
		"application/grpc;charset=utf-8": true, "application/grpc-web": false, "application/grpc-web+proto": false,
		"application/grpcx": false, "application/json": false, "": false, "application/gr": false,
	} {
		if got := IsGRPCContentType(ct); got != want {
			t.Errorf("IsGRPCContentType(%q) = %v", ct, got)
		}
	}
}

func TestFromHeader(t *testing.T) {
	for _, c := range []struct {
		h    http.Header
		code Code
		ok   bool
	}{
		{http.Header{}, 0, false},
		{http.Header{"Grpc-Status": {"14"}}, Unavailable, true},
		{http.Header{http.TrailerPrefix + "Grpc-Status": {"0"}}, OK, true},
		{http.Header{"Grpc-Status": {"nope"}}, Unknown, true},
		{http.Header{"Grpc-Status": {"99"}}, 99, true},
	} {
		code, ok := FromHeader(c.h)
		if code != c.code || ok != c.ok {
			t.Errorf("FromHeader(%v) = %v %v, want %v %v", c.h, code, ok, c.code, c.ok)
		}
	}
	if Code(99).String() != "UNKNOWN" || DeadlineExceeded.String() != "DEADLINE_EXCEEDED" {
		t.Errorf("names: %v %v", Code(99), DeadlineExceeded)
	}
}

func TestEncodeMessage(t *testing.T) {
	if got := EncodeMessage("100% sure: naïve\n"); got != "100%25 sure: na%C3%AFve%0A" {
		t.Errorf("EncodeMessage = %q", got)
	}
}
