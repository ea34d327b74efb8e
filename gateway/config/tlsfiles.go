package config

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// tlsFiles serves the listener's certificate and client CAs from their
// files and follows them when they change (cert-manager rotates both), so a
// rotation needs no restart and drops no connection: each new handshake
// uses the files' current content, established connections keep theirs.
// The files are read at most once per checkEvery; content that does not
// parse is refused (logged) and the last good one stays in use.
type tlsFiles struct {
	certFile, keyFile, caFile string
	logger                    *slog.Logger

	mu      sync.Mutex
	checked time.Time
	hash    [32]byte
	cert    *tls.Certificate
	pool    *x509.CertPool
}

const checkEvery = time.Second

// load reads and parses the files; it returns the hash of their bytes.
func (f *tlsFiles) load() ([32]byte, *tls.Certificate, *x509.CertPool, error) {
	certPEM, err := os.ReadFile(f.certFile)
	if err != nil {
		return [32]byte{}, nil, nil, err
	}
	keyPEM, err := os.ReadFile(f.keyFile)
	if err != nil {
		return [32]byte{}, nil, nil, err
	}
	var caPEM []byte
	if f.caFile != "" {
		if caPEM, err = os.ReadFile(f.caFile); err != nil {
			return [32]byte{}, nil, nil, err
		}
	}
	h := sha256.New()
	for _, b := range [][]byte{certPEM, keyPEM, caPEM} {
		h.Write(b)
		h.Write([]byte{0})
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return sum, nil, nil, fmt.Errorf("%s: %w", f.certFile, err)
	}
	var pool *x509.CertPool
	if f.caFile != "" {
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return sum, nil, nil, fmt.Errorf("no PEM certificates in %s", f.caFile)
		}
	}
	return sum, &cert, pool, nil
}

// current returns the certificate and CA pool in force, re-reading the
// files when checkEvery has passed.
func (f *tlsFiles) current() (*tls.Certificate, *x509.CertPool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= checkEvery {
		f.checked = now
		sum, cert, pool, err := f.load()
		switch {
		case sum == f.hash:
		case err != nil:
			// A rotation caught between its writes, or a bad file: keep
			// serving with what worked, and say so once per content.
			f.hash = sum
			f.logger.Warn("TLS files refused; the previous certificate stays in use", "err", err.Error())
		default:
			f.hash, f.cert, f.pool = sum, cert, pool
			f.logger.Info("TLS files reloaded", "cert_file", f.certFile)
		}
	}
	return f.cert, f.pool
}

var errNoCert = errors.New("no usable server certificate")

func (f *tlsFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c, _ := f.current(); c != nil {
		return c, nil
	}
	return nil, errNoCert
}
