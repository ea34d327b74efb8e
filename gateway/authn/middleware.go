package authn

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Method is one way of authenticating: JWT, APIKey, MTLS, or your own.
type Method interface {
	// Name is the method's name in metrics, logs and Identity.Method.
	Name() string
	// Authenticate returns the identity the request's credentials prove;
	// ErrNoCredentials when the request carries none of this method's
	// kind; or an *Error.
	Authenticate(r *http.Request) (*consumer.Identity, error)
	// Challenge returns this method's WWW-Authenticate challenge; err is
	// the failure, or nil when the request carried no credentials.
	Challenge(realm string, err *Error) string
}

// stripper is implemented by methods whose credential must not go
// upstream.
// stripper is a method whose credentials are the gateway's alone (an API
// key): they never go upstream, whichever method decided.
type stripper interface {
	strip(r *http.Request)
	carries(r *http.Request) bool
}

// DefaultRealm is the realm of the challenges.
const DefaultRealm = "gatescale"

// Option configures Middleware.
type Option func(*options)

type options struct {
	realm     string
	anonymous bool
	metrics   *Metrics
	logger    *slog.Logger
	born      *routeseries.Birth // the metrics epoch the middleware was wrapped at
}

// WithRealm sets the realm of WWW-Authenticate challenges.
func WithRealm(realm string) Option { return func(o *options) { o.realm = realm } }

// WithAnonymous lets requests that carry no credentials at all through as
// anonymous (Identity.Anonymous). Requests with bad credentials are still
// refused: a client that tried to authenticate and failed should know.
func WithAnonymous(allow bool) Option { return func(o *options) { o.anonymous = allow } }

// WithMetrics counts failures in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithLogger logs each failure at debug level, with its cause.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Middleware authenticates each request with methods, in order: the first
// method whose kind of credentials the request carries decides. On success
// the Identity is put in the request context (consumer.FromContext); on
// failure the client gets 401 with a WWW-Authenticate challenge and a
// problem+json body saying what was wrong (503 when the gateway cannot
// check: keys or consumers unavailable). A request with no credentials gets
// 401 with every method's challenge, unless WithAnonymous allows it.
func Middleware(methods []Method, opts ...Option) func(http.Handler) http.Handler {
	o := options{realm: DefaultRealm}
	for _, opt := range opts {
		opt(&o)
	}
	anonymous := &consumer.Identity{Method: consumer.MethodAnonymous}
	return func(next http.Handler) http.Handler {
		o := o
		o.born = o.metrics.born() // wrapped when a route table is built
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, m := range methods {
				id, err := m.Authenticate(r)
				if errors.Is(err, ErrNoCredentials) {
					continue
				}
				if err != nil {
					var ae *Error
					if !errors.As(err, &ae) {
						ae = fail(ReasonMalformed, "the credentials could not be checked", err)
					}
					o.refuse(w, r, []Method{m}, m.Name(), ae)
					return
				}
				r2 := r.WithContext(consumer.NewContext(r.Context(), id))
				cloned := false
				for _, m := range methods {
					s, ok := m.(stripper)
					if !ok || !s.carries(r) {
						continue
					}
					if !cloned { // the caller's request stays as it was
						r2.Header = r.Header.Clone()
						u := *r.URL
						r2.URL = &u
						cloned = true
					}
					s.strip(r2)
				}
				next.ServeHTTP(w, r2)
				return
			}
			if o.anonymous {
				next.ServeHTTP(w, r.WithContext(consumer.NewContext(r.Context(), anonymous)))
				return
			}
			o.refuse(w, r, methods, "none", fail(ReasonMissing, "this route requires authentication", nil))
		})
	}
}

func (o *options) refuse(w http.ResponseWriter, r *http.Request, methods []Method, method string, err *Error) {
	d := problem.Details{Status: err.status(), Type: "urn:gatescale:auth:" + string(err.Reason), Detail: err.Detail}
	routeName := outcome.Route(r)
	if info := request.InfoFrom(r.Context()); info != nil {
		d.Route = info.Route
		info.SetError("authentication failed: " + string(err.Reason))
	}
	if o.metrics != nil {
		o.metrics.countFailure(routeName, routeseries.BornOf(r, o.born), method, string(err.Reason))
	}
	if o.logger != nil {
		o.logger.Debug("authentication failed", "route", routeName, "method", method, "reason", string(err.Reason), "err", err.Error())
	}
	if d.Status == http.StatusUnauthorized {
		for _, m := range methods {
			if c := m.Challenge(o.realm, err); c != "" {
				w.Header().Add("WWW-Authenticate", c)
			}
		}
	}
	problem.Write(w, d)
}
