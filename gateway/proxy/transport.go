package proxy

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns an http.Transport tuned for a gateway: a large idle
// pool per upstream host (the default of 2 forces a new connection for most
// concurrent requests), bounded dial and TLS handshake times, and no
// transparent compression (the client's Accept-Encoding goes upstream as is).
// HTTP/1.1 is used to upstreams: one HTTP/2 connection would serialise the
// gateway's fan-in onto a single TCP stream.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // never route upstream traffic through HTTP_PROXY
		DialContext:           d.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}
