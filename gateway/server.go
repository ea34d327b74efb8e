package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server runs a Gateway on a listener, with /metrics, /livez and /readyz on
// a separate admin listener, and shuts down without dropping requests.
//
// Shutdown (ctx of Run ends, e.g. on SIGTERM) goes: readiness fails at once
// and keep-alives are turned off, so the orchestrator and clients move to
// other replicas; requests are still served for DrainPeriod (Kubernetes
// keeps routing to a terminating pod until its endpoints update); then the
// listeners close and in-flight requests get up to ShutdownTimeout to finish.
type Server struct {
	Gateway *Gateway
	// Handler is served instead of Gateway on the main listener when set
	// (e.g. the user's own router with the gateway mounted on it).
	Handler http.Handler
	// Addr and Listener: the main listener (Listener wins when set).
	Addr     string
	Listener net.Listener
	// AdminAddr and AdminListener: /metrics and the probes; none if both
	// are empty.
	AdminAddr     string
	AdminListener net.Listener
	// Gatherer is served on /metrics (default prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	// AdminHandlers are served on the admin listener too, by
	// http.ServeMux pattern ("GET /config"): a program's own status
	// pages. Run refuses a pattern that conflicts with /metrics, /livez,
	// /readyz or another.
	AdminHandlers map[string]http.Handler
	// TLSConfig enables TLS (and HTTP/2) on the main listener. Without it
	// the main listener speaks HTTP/1.1 and cleartext HTTP/2 (h2c).
	TLSConfig *tls.Config
	// DrainPeriod keeps serving after readiness fails (default 5s).
	DrainPeriod time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests (default 30s);
	// the connections of those still running then are closed.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout guards against slow-header clients (default 10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 120s).
	IdleTimeout time.Duration
	// MaxHeaderBytes limits request headers (default 64 KiB).
	MaxHeaderBytes int
	Logger         *slog.Logger
	// Ready, if set, is called with the main listener's address once it
	// accepts connections.
	Ready func(addr net.Addr)
	// AdminReady, if set, is called with the admin listener's address.
	AdminReady func(addr net.Addr)
}

// Run serves until ctx ends, then drains and shuts down. It returns nil
// after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// Without either, the server would serve a nil *Gateway and every
	// request would panic; refuse before anything listens.
	if s.Handler == nil && s.Gateway == nil {
		return errors.New("gateway: Server has neither Handler nor Gateway set; set one of them")
	}
	drain := orDefault(s.DrainPeriod, 5*time.Second)
	shutdownTimeout := orDefault(s.ShutdownTimeout, 30*time.Second)

	var adminMux *http.ServeMux
	if s.AdminListener != nil || s.AdminAddr != "" {
		var err error
		if adminMux, err = s.adminMux(); err != nil {
			return err
		}
	}
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return err
		}
	}
	adminLn := s.AdminListener
	if adminLn == nil && s.AdminAddr != "" {
		var err error
		if adminLn, err = net.Listen("tcp", s.AdminAddr); err != nil {
			ln.Close()
			return err
		}
	}

	handler := s.Handler
	if handler == nil {
		handler = s.Gateway
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	if s.TLSConfig != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	// http.Server.Shutdown and Close do not track hijacked connections
	// (WebSocket and other upgrades the proxy passes on), so Run counts
	// upgrade requests and, past ShutdownTimeout, cancels the context all
	// requests derive from: the reverse proxy then closes both sides.
	upgrades := &upgradeCount{}
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	main := &http.Server{
		Handler:           upgrades.wrap(handler),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		TLSConfig:         s.TLSConfig,
		Protocols:         protocols,
		ReadHeaderTimeout: orDefault(s.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       orDefault(s.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    max(s.MaxHeaderBytes, 0),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	if main.MaxHeaderBytes == 0 {
		main.MaxHeaderBytes = 64 << 10
	}
	errc := make(chan error, 2)
	go func() {
		var err error
		if s.TLSConfig != nil {
			err = main.ServeTLS(ln, "", "")
		} else {
			err = main.Serve(ln)
		}
		errc <- err
	}()
	var admin *http.Server
	if adminLn != nil {
		admin = &http.Server{Handler: adminMux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- admin.Serve(adminLn) }()
		logger.Info("admin listening", "addr", adminLn.Addr().String())
	}
	logger.Info("gateway listening", "addr", ln.Addr().String())
	if s.AdminReady != nil && adminLn != nil {
		s.AdminReady(adminLn.Addr())
	}
	if s.Ready != nil {
		s.Ready(ln.Addr())
	}

	select {
	case err := <-errc:
		main.Close()
		if admin != nil {
			admin.Close()
		}
		return err
	case <-ctx.Done():
	}

	logger.Info("draining", "period", drain.String())
	if s.Gateway != nil {
		s.Gateway.Drain()
	}
	main.SetKeepAlivesEnabled(false) // answers now carry Connection: close
	time.Sleep(drain)

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := main.Shutdown(sctx)
	if admin != nil {
		_ = admin.Shutdown(sctx)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown timeout passed with requests still in flight; closing their connections")
		// Shutdown leaves them open; Close ends them, so their clients
		// see the connection close instead of waiting on a stopped server.
		_ = main.Close()
		if admin != nil {
			_ = admin.Close()
		}
	}
	select {
	case <-upgrades.idle():
	case <-sctx.Done():
		logger.Warn("shutdown timeout passed with upgraded connections still open; closing them")
		cancelBase()
		// Bounded: a Handler of the program's own that hijacks and ignores
		// its context would otherwise keep Run from ever returning.
		select {
		case <-upgrades.idle():
		case <-time.After(shutdownTimeout):
			logger.Warn("upgraded connections still open after their context was canceled")
		}
		if err == nil {
			err = context.DeadlineExceeded
		}
	}
	logger.Info("stopped")
	return err
}

// upgradeCount counts the upgrade requests being served; Shutdown no
// longer sees them once their connection is hijacked. Other requests pass
// uncounted, so the common path takes no lock.
type upgradeCount struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n is 0; nil means closed
}

func (c *upgradeCount) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header["Upgrade"]) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		c.add(1)
		defer c.add(-1)
		h.ServeHTTP(w, r)
	})
}

func (c *upgradeCount) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 && d > 0 {
		c.zero = make(chan struct{})
	}
	c.n += d
	if c.n == 0 {
		close(c.zero)
	}
}

// idle returns a channel closed once no upgrade request is being served.
func (c *upgradeCount) idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.zero
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// adminMux serves /metrics, the probes and AdminHandlers.
func (s *Server) adminMux() (mux *http.ServeMux, err error) {
	gatherer := s.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	mux = http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	if s.Gateway != nil {
		mux.Handle("/livez", s.Gateway.HealthHandler())
		mux.Handle("/readyz", s.Gateway.HealthHandler())
	}
	patterns := slices.Sorted(maps.Keys(s.AdminHandlers))
	for _, p := range patterns {
		// ServeMux panics on a bad or conflicting pattern: say it as an
		// error instead.
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("admin handler %q: %v", p, r)
				}
			}()
			mux.Handle(p, s.AdminHandlers[p])
		}()
		if err != nil {
			return nil, err
		}
	}
	return mux, nil
}
