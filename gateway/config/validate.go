package config

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/yamldoc"
)

// build validates the decoded file and turns it into a Loaded. It reports
// every problem it finds; the caller discards the result if there are any.
func (p *parseState) build() *Loaded {
	f := &p.file
	l := &Loaded{File: *f, Spec: f.Spec()}

	l.Listen = p.listenAddr("listen", f.Listen, DefaultListen)
	l.AdminListen = p.listenAddr("admin_listen", f.AdminListen, DefaultAdminListen)
	if _, port, _ := net.SplitHostPort(l.Listen); l.Listen == l.AdminListen && port != "0" &&
		!p.hasStructErr("listen") && !p.hasStructErr("admin_listen") {
		key := "admin_listen"
		if !p.present(key) {
			key = "listen"
		}
		p.errf(key, "listen and admin_listen are both %s: they must differ", l.Listen)
	}
	l.DrainPeriod = p.positiveOrDefault("drain_period", time.Duration(f.DrainPeriod), DefaultDrainPeriod)
	l.ShutdownTimeout = p.positiveOrDefault("shutdown_timeout", time.Duration(f.ShutdownTimeout), DefaultShutdownTimeout)
	p.listener(l)
	p.tracingSection(l)
	p.accessLog(l)

	// The gateway's state: the same validation as the admin API's.
	err := live.Validate(&l.Spec, spec.WithDocument(document{p}),
		spec.WithClientTLS(l.TLS != nil && l.TLS.ClientCAFile != ""))
	p.locate(err)
	if p.doc.ErrorCount() > 0 {
		return nil
	}
	l.doc = p.doc
	for _, fe := range live.Warnings(&l.Spec) {
		at := p.pos(fe.Path)
		l.Warnings = append(l.Warnings, &Error{File: p.name, Line: at.Line, Column: at.Column, Path: fe.Path, Message: fe.Message})
	}
	yamldoc.SortByPos(l.Warnings)
	return l
}

// accessLog validates the access_log section (accesslog.Options.Validate).
func (p *parseState) accessLog(l *Loaded) {
	if f := p.file.AccessLog; f != nil && !p.hasStructErr("access_log") {
		l.AccessLog = *f
		p.locate(accessLogErrors(f.Validate()))
	}
}

// accessLogErrors places the access log's *accesslog.FieldError leaves
// under access_log.
func accessLogErrors(err error) error {
	var out []error
	for _, e := range spec.Leaves(err) {
		var fe *accesslog.FieldError
		if errors.As(e, &fe) {
			e = &spec.FieldError{Path: "access_log." + fe.Field, Message: fe.Message}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// PrepareAccessLog prepares l's access_log section for log (a file that
// cannot be opened is located at access_log.output); the caller commits it
// once the rest of the file is in force. defaultFormat is used when the
// file names none.
func (l *Loaded) PrepareAccessLog(log *accesslog.Log, defaultFormat accesslog.Format) (*accesslog.Pending, error) {
	o := l.AccessLog
	if o.Format == "" {
		o.Format = defaultFormat
	}
	p, err := log.Prepare(o)
	if err != nil {
		return nil, l.Locate(accessLogErrors(err))
	}
	return p, nil
}

// document tells spec.Validate what the YAML file says beyond its values.
type document struct{ p *parseState }

func (d document) Present(path string) bool { return d.p.present(path) }
func (d document) Broken(path string) bool  { return d.p.hasStructErr(path) }
func (d document) Scalar(path string) bool  { return d.p.doc.IsScalarAt(path) }
func (d document) Line(path string) int     { return d.p.pos(path).Line }

// locate reports the field errors of err at their place in the file.
func (p *parseState) locate(err error) {
	fields, other := spec.FieldErrors(err)
	for _, fe := range fields {
		if fe.AtKey {
			p.errKey(fe.Path, "%s", fe.Message)
		} else {
			p.errf(fe.Path, "%s", fe.Message)
		}
	}
	for _, e := range other {
		p.errf("", "%v", e)
	}
}

// Locate turns the *spec.FieldError leaves of err (from live.Runtime.Build
// of l.Spec) into *Error at their place in the file, sorted by position.
func (l *Loaded) Locate(err error) error {
	if err == nil {
		return nil
	}
	p := &parseState{name: l.doc.Name(), doc: l.doc.Locator()}
	p.locate(err)
	return p.doc.Err()
}

// Build makes the file's state live with rt (one Runtime per process);
// problems found only now (an unreadable key file) are located in the file.
func (l *Loaded) Build(rt *live.Runtime) (*live.Built, error) {
	b, err := rt.Build(&l.Spec)
	return b, l.Locate(err)
}

// Check is Build without effects: for `gatescale validate`.
func (l *Loaded) Check(rt *live.Runtime) error {
	if _, err := l.TLSConfig(); err != nil {
		return errors.Join(err, l.Locate(rt.Check(&l.Spec)))
	}
	return l.Locate(rt.Check(&l.Spec))
}

// TLSConfig returns the proxy listener's TLS configuration (client
// certificate verification included), or nil without a tls section. The
// certificate and client CAs follow their files: a rotation applies to new
// handshakes without a restart (see tlsFiles).
func (l *Loaded) TLSConfig() (*tls.Config, error) {
	return l.tlsConfig(slog.Default())
}

func (l *Loaded) tlsConfig(logger *slog.Logger) (*tls.Config, error) {
	t := l.TLS
	if t == nil {
		return nil, nil
	}
	files := &tlsFiles{certFile: t.CertFile, keyFile: t.KeyFile, caFile: t.ClientCAFile, logger: logger}
	hash, cert, pool, err := files.load()
	if err != nil {
		field := "tls.cert_file"
		if t.ClientCAFile != "" && (strings.Contains(err.Error(), t.ClientCAFile) || errors.Is(err, os.ErrNotExist) && !fileExists(t.ClientCAFile)) {
			field = "tls.client_ca_file"
		}
		return nil, l.Locate(&spec.FieldError{Path: field, Message: err.Error()})
	}
	files.hash, files.cert, files.pool, files.checked = hash, cert, pool, time.Now()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: files.getCertificate}
	if t.MinVersion == "1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	if t.ClientCAFile != "" {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if t.ClientAuth == "require" {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		cfg.ClientCAs = pool
		base := cfg.Clone()
		// The client CAs follow their file too: each handshake gets the
		// pool in force.
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			_, c.ClientCAs = files.current()
			return c, nil
		}
	}
	return cfg, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (p *parseState) listenAddr(key, v, def string) string {
	if p.hasStructErr(key) {
		return v
	}
	if v == "" {
		if p.present(key) {
			p.errf(key, "must not be empty (default %s)", def)
		}
		return def
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		p.errf(key, "%q is not host:port (e.g. %q or \":8080\")", v, def)
		return v
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.errf(key, "%q: port %q is not a number from 0 to 65535", v, port)
	}
	if host != "" && !spec.ValidHost(host) {
		p.errf(key, "%q: %q is not a host name or IP address", v, host)
	}
	return v
}

// positiveOrDefault checks a duration whose zero value means the default.
func (p *parseState) positiveOrDefault(key string, d, def time.Duration) time.Duration {
	switch {
	case p.hasStructErr(key):
	case d < 0:
		p.errf(key, "must not be negative")
	case d == 0 && p.present(key):
		p.errf(key, "must be positive (omit it for the default, %v)", def)
	case d == 0:
		return def
	}
	return d
}

// Apply builds l with rt and applies it to gw: the build is committed when
// gw took it (what the previous revision alone used is closed) and
// discarded when it did not (the running configuration stays in force).
func (l *Loaded) Apply(ctx context.Context, gw *gateway.Gateway, rt *live.Runtime) error {
	built, err := l.Build(rt)
	if err != nil {
		return err
	}
	if err := gw.Apply(ctx, built.Gateway); err != nil {
		built.Discard()
		return l.Locate(err)
	}
	built.Commit()
	return nil
}

// GatewayOptions are the gateway.New options the file sets: the header
// count limit (limits.max_header_count).
func (l *Loaded) GatewayOptions() []gateway.Option {
	return []gateway.Option{gateway.WithMaxHeaderCount(l.Server.MaxHeaderCount)}
}
