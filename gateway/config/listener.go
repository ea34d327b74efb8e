package config

import (
	"time"

	"github.com/gatescale/gatescale/gateway"
)

// Defaults of the security settings (see docs/configuration.md and
// docs/security.md).
const (
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxHeaderCount    = gateway.DefaultMaxHeaderCount
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// TLS is the tls section: TLS on the proxy listener, and client
// certificates for auth method mtls.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the CAs (PEM) that client certificates are
	// verified against; without it no client certificate is asked for.
	ClientCAFile string `yaml:"client_ca_file,omitempty"`
	// ClientAuth is request (verify a certificate if the client sends one;
	// the default with client_ca_file) or require (refuse the handshake
	// without one).
	ClientAuth string `yaml:"client_auth,omitempty"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version,omitempty"`
}

// Limits is the limits section: bounds on what a client may send.
type Limits struct {
	MaxHeaderBytes    Size     `yaml:"max_header_bytes,omitempty"`
	MaxHeaderCount    int      `yaml:"max_header_count,omitempty"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout,omitempty"`
	IdleTimeout       Duration `yaml:"idle_timeout,omitempty"`
	// MaxBodyBytes is the body limit of routes without max_body_bytes.
	MaxBodyBytes Size `yaml:"max_body_bytes,omitempty"`
}

// ServerSettings are the listener settings of the limits section, with
// defaults applied.
type ServerSettings struct {
	MaxHeaderBytes    int
	MaxHeaderCount    int
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
}

// listener validates the limits and tls sections: listener settings of the
// process, outside the gateway's state.
func (p *parseState) listener(l *Loaded) {
	f := &p.file
	l.Server = ServerSettings{
		MaxHeaderBytes: DefaultMaxHeaderBytes, MaxHeaderCount: DefaultMaxHeaderCount,
		ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
	}
	if lim := f.Limits; lim != nil {
		if hb := "limits.max_header_bytes"; lim.MaxHeaderBytes < 0 || lim.MaxHeaderBytes > 0 && lim.MaxHeaderBytes < 1024 ||
			lim.MaxHeaderBytes == 0 && p.present(hb) {
			p.errf(hb, "must be at least 1KiB (default 64KiB)")
		} else if lim.MaxHeaderBytes > 0 {
			l.Server.MaxHeaderBytes = int(min(lim.MaxHeaderBytes, 1<<30))
		}
		if hc := "limits.max_header_count"; lim.MaxHeaderCount < 0 || lim.MaxHeaderCount == 0 && p.present(hc) {
			p.errf(hc, "must be at least 1 (default %d)", DefaultMaxHeaderCount)
		} else if lim.MaxHeaderCount > 0 {
			l.Server.MaxHeaderCount = lim.MaxHeaderCount
		}
		l.Server.ReadHeaderTimeout = p.positiveOrDefault("limits.read_header_timeout", time.Duration(lim.ReadHeaderTimeout), DefaultReadHeaderTimeout)
		l.Server.IdleTimeout = p.positiveOrDefault("limits.idle_timeout", time.Duration(lim.IdleTimeout), DefaultIdleTimeout)
		if lim.MaxBodyBytes < 0 || lim.MaxBodyBytes == 0 && p.present("limits.max_body_bytes") {
			p.errf("limits.max_body_bytes", "must be positive (omit it for no default limit)")
		}
	}

	if t := f.TLS; t != nil {
		l.TLS = t
		if t.CertFile == "" {
			p.errf("tls.cert_file", "is required with tls")
		}
		if t.KeyFile == "" {
			p.errf("tls.key_file", "is required with tls")
		}
		switch t.ClientAuth {
		case "":
		case "request", "require":
			if t.ClientCAFile == "" {
				p.errf("tls.client_ca_file", "is required with client_auth: %s", t.ClientAuth)
			}
		default:
			p.errf("tls.client_auth", "%q is not request or require", t.ClientAuth)
		}
		switch t.MinVersion {
		case "", "1.2", "1.3":
		default:
			p.errf("tls.min_version", "%q is not \"1.2\" or \"1.3\"", t.MinVersion)
		}
	}

}
