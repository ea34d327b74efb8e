package live

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"

	"github.com/gatescale/gatescale/gateway/grpcproxy"
	"github.com/gatescale/gatescale/gateway/spec"
)

// upstreamTransport is an upstream's own transport and the client its
// active health probes use over it.
type upstreamTransport struct {
	transport *grpcproxy.Transport
	probes    *http.Client
}

// transport returns the transport of an upstream with a protocol or TLS
// settings, or nil for the gateway's shared one. It is a resource keyed by
// the settings (and the CA file's content), so a reload that keeps them
// keeps the transport — and the upstream, whose spec then compares equal.
func (s *buildState) transport(path string, u spec.Upstream) (*upstreamTransport, bool) {
	if (u.Protocol == "" || u.Protocol == "http1") && u.TLS == nil {
		return nil, true
	}
	var opts []grpcproxy.Option
	key := "transport|" + u.Protocol
	if t := u.TLS; t != nil {
		c := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				s.errf(spec.Join(spec.Join(path, "tls"), "ca_file"), "%v", err)
				return nil, false
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				s.errf(spec.Join(spec.Join(path, "tls"), "ca_file"), "%s holds no PEM certificate", t.CAFile)
				return nil, false
			}
			sum := sha256.Sum256(pem)
			key += "|ca:" + hex.EncodeToString(sum[:])
		}
		key += "|sni:" + t.ServerName
		opts = append(opts, grpcproxy.WithTLS(c))
	}
	v, err := s.get(key, func() (any, func(), error) {
		t, err := grpcproxy.NewTransport(grpcproxy.Protocol(u.Protocol), opts...)
		if err != nil {
			return nil, nil, err
		}
		probes := &http.Client{Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		return &upstreamTransport{transport: t, probes: probes}, t.CloseIdleConnections, nil
	})
	if err != nil {
		s.errf(spec.Join(path, "protocol"), "%v", err)
		return nil, false
	}
	ut, ok := v.(*upstreamTransport)
	if !ok {
		panic(fmt.Sprintf("live: resource %s is %T", key, v))
	}
	return ut, true
}
