package health

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
)

// GRPC makes Active probe with the standard gRPC health-checking protocol
// (grpc.health.v1.Health/Check) instead of an HTTP GET: an instance is
// healthy when the call succeeds and answers SERVING. NOT_SERVING,
// SERVICE_UNKNOWN, a non-OK grpc-status (UNIMPLEMENTED from a server
// without the health service, NOT_FOUND for an unknown service name) or no
// answer count as failed probes. The call is made over HTTP/2: Active's
// Client must speak it (the default one does: cleartext h2c for http
// instances, h2 over TLS for https).
type GRPC struct {
	// Service is the service name asked about; empty asks about the
	// server as a whole.
	Service string
}

// Health check serving statuses of grpc.health.v1.HealthCheckResponse.
const (
	grpcUnknown        = 0
	grpcServing        = 1
	grpcNotServing     = 2
	grpcServiceUnknown = 3
)

const grpcCheckPath = "/grpc.health.v1.Health/Check"

// defaultGRPCClient speaks HTTP/2 only: h2c to http instances, h2 to https.
var defaultGRPCClient = sync.OnceValue(func() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:              nil,
			DialContext:        (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			Protocols:          p,
			IdleConnTimeout:    90 * time.Second,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
})

// probeGRPC makes one Health/Check call on base, within Timeout.
func (a Active) probeGRPC(ctx context.Context, base *url.URL) error {
	u := *base
	u.Path, u.RawPath, u.RawQuery = grpcCheckPath, "", ""
	target := u.String()
	timeout := a.timeout()
	probeCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(probeCtx, http.MethodPost, target, bytes.NewReader(checkRequest(a.GRPC.Service)))
	if err != nil {
		return fmt.Errorf("health check %s: %w", target, err)
	}
	req.Header.Set("Content-Type", grpcstatus.ContentType)
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", "gatescale-health-check")
	req.Header.Set(grpcstatus.HeaderTimeout, strconv.FormatInt(timeout.Milliseconds()+1, 10)+"m")
	client := a.Client
	if client == nil {
		client = defaultGRPCClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		return a.transportError(ctx, target, timeout, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	if err != nil {
		return a.transportError(ctx, target, timeout, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check %s: unexpected HTTP status %d", target, resp.StatusCode)
	}
	code, ok := grpcstatus.FromHeader(resp.Header) // trailers-only answer
	if !ok {
		code, ok = grpcstatus.FromHeader(resp.Trailer)
	}
	if !ok {
		return fmt.Errorf("health check %s: no grpc-status", target)
	}
	if code != grpcstatus.OK {
		return fmt.Errorf("health check %s: grpc-status %s", target, code)
	}
	status, err := ParseGRPCCheckResponse(body)
	if err != nil {
		return fmt.Errorf("health check %s: %w", target, err)
	}
	if status != grpcServing {
		return fmt.Errorf("health check %s: %s", target, servingStatusName(status))
	}
	return nil
}

// transportError words a failed probe request, HTTP or gRPC, the same way.
func (a Active) transportError(ctx context.Context, target string, timeout time.Duration, err error) error {
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("health check %s: %w", target, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("health check %s: timed out after %v: %w", target, timeout, context.DeadlineExceeded)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("health check %s: connect: %w", target, opErr.Err)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its text repeats the method and URL
	}
	return fmt.Errorf("health check %s: %w", target, err)
}

func servingStatusName(s uint64) string {
	switch s {
	case grpcUnknown:
		return "UNKNOWN"
	case grpcServing:
		return "SERVING"
	case grpcNotServing:
		return "NOT_SERVING"
	case grpcServiceUnknown:
		return "SERVICE_UNKNOWN"
	}
	return "status " + strconv.FormatUint(s, 10)
}

// checkRequest is one length-prefixed gRPC message holding a
// HealthCheckRequest{service: service} (field 1, a string).
func checkRequest(service string) []byte {
	msg := []byte{}
	if service != "" {
		msg = append(msg, 0x0a) // field 1, length-delimited
		msg = binary.AppendUvarint(msg, uint64(len(service)))
		msg = append(msg, service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return append(frame, msg...)
}

// ParseGRPCCheckResponse reads the body of a Health/Check answer: one
// uncompressed length-prefixed message holding a HealthCheckResponse, and
// returns its status (1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN, 0
// UNKNOWN). Unknown fields are skipped, as protobuf readers do.
func ParseGRPCCheckResponse(body []byte) (uint64, error) {
	if len(body) < 5 {
		return 0, errors.New("grpc health answer: no message")
	}
	if body[0] != 0 {
		return 0, errors.New("grpc health answer: compressed message (none was accepted)")
	}
	n := binary.BigEndian.Uint32(body[1:5])
	msg := body[5:]
	if uint64(n) != uint64(len(msg)) {
		return 0, fmt.Errorf("grpc health answer: message length %d, %d bytes follow", n, len(msg))
	}
	var status uint64 // absent field: the zero value, UNKNOWN
	for len(msg) > 0 {
		key, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errors.New("grpc health answer: bad field key")
		}
		msg = msg[k:]
		field, wire := key>>3, key&7
		switch wire {
		case 0: // varint
			v, k := binary.Uvarint(msg)
			if k <= 0 {
				return 0, errors.New("grpc health answer: bad varint")
			}
			msg = msg[k:]
			if field == 1 {
				status = v
			}
		case 1: // 64-bit
			if len(msg) < 8 {
				return 0, errors.New("grpc health answer: truncated field")
			}
			msg = msg[8:]
		case 2: // length-delimited
			l, k := binary.Uvarint(msg)
			if k <= 0 || l > uint64(len(msg)-k) {
				return 0, errors.New("grpc health answer: truncated field")
			}
			msg = msg[k+int(l):]
		case 5: // 32-bit
			if len(msg) < 4 {
				return 0, errors.New("grpc health answer: truncated field")
			}
			msg = msg[4:]
		default:
			return 0, fmt.Errorf("grpc health answer: wire type %d", wire)
		}
	}
	return status, nil
}
