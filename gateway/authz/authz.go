package authz

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// Rule is a set of requirements; the zero Rule admits any authenticated
// consumer.
type Rule struct {
	// Anonymous admits everyone, anonymous callers included. It stands
	// alone: a rule with Anonymous has no other requirement.
	Anonymous bool
	// Scopes must all be held.
	Scopes []string
	// Roles, Groups: at least one must be held (when listed).
	Roles  []string
	Groups []string
	// Consumers, when listed, are the only consumers admitted.
	Consumers []string
}

// Policy is what a route requires of its callers.
type Policy struct {
	// Rule applies to every method. Without Methods, the zero Rule admits
	// any authenticated consumer; with Methods, an empty Rule adds nothing
	// to the method rules.
	Rule
	// Deny lists consumers always refused, whatever else they hold.
	Deny []string
	// Methods adds a rule per method (upper case, or "*" for methods not
	// listed). When Methods is not empty, a method it does not list, with
	// no "*" entry, is refused.
	Methods map[string]Rule
}

// Reason is why a request was denied; a small fixed set, used as a metric
// label and in the problem body's type.
type Reason string

// Reasons of denials.
const (
	ReasonAnonymous   Reason = "anonymous"
	ReasonDenied      Reason = "consumer_denied"
	ReasonNotAllowed  Reason = "consumer_not_allowed"
	ReasonScope       Reason = "missing_scope"
	ReasonRole        Reason = "missing_role"
	ReasonGroup       Reason = "missing_group"
	ReasonMethod      Reason = "method_not_allowed"
	maxListedInDetail        = 5
)

// Decision is the outcome of Policy.Decide.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Detail tells the client which requirement was not met.
	Detail string
}

// Validate reports policies that cannot mean what they say.
func (p Policy) Validate() error {
	var errs []error
	check := func(where string, r Rule) {
		if r.Anonymous && (len(r.Scopes)+len(r.Roles)+len(r.Groups)+len(r.Consumers) > 0) {
			errs = append(errs, fmt.Errorf("%s: anonymous admits everyone; it cannot be combined with scopes, roles, groups or consumers", where))
		}
	}
	check("policy", p.Rule)
	for m, r := range p.Methods {
		if m != "*" && (m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t")) {
			errs = append(errs, fmt.Errorf("methods: %q is not an upper-case method name or *", m))
		}
		check("methods."+m, r)
	}
	return errors.Join(errs...)
}

// Decide decides whether id may call method under p. A nil id (no
// authentication ran) is anonymous.
func (p *Policy) Decide(id *consumer.Identity, method string) Decision {
	if !id.Anonymous() && slices.Contains(p.Deny, id.ConsumerID) {
		return Decision{Reason: ReasonDenied, Detail: "this consumer is denied on this route"}
	}
	if len(p.Methods) == 0 {
		return p.Rule.decide(id, "")
	}
	// With method rules, an empty route-wide rule adds nothing: the
	// method's rule decides, anonymous access included.
	if !p.Rule.empty() {
		if d := p.Rule.decide(id, ""); !d.Allowed {
			return d
		}
	}
	r, ok := p.Methods[method]
	if !ok && method == http.MethodHead {
		// HEAD is GET without the body (RFC 9110 9.3.2): the upstream
		// runs its GET handler, so GET's rule guards it unless HEAD has
		// one of its own.
		r, ok = p.Methods[http.MethodGet]
	}
	if !ok {
		if r, ok = p.Methods["*"]; !ok {
			return Decision{Reason: ReasonMethod, Detail: method + " is not allowed on this route"}
		}
	}
	return r.decide(id, method)
}

func (r *Rule) empty() bool {
	return !r.Anonymous && len(r.Scopes)+len(r.Roles)+len(r.Groups)+len(r.Consumers) == 0
}

func (r *Rule) decide(id *consumer.Identity, method string) Decision {
	if r.Anonymous {
		return Decision{Allowed: true}
	}
	suffix := ""
	if method != "" {
		suffix = " for " + method
	}
	if id.Anonymous() {
		return Decision{Reason: ReasonAnonymous, Detail: "this route requires an authenticated consumer" + suffix}
	}
	if len(r.Consumers) > 0 && !slices.Contains(r.Consumers, id.ConsumerID) {
		return Decision{Reason: ReasonNotAllowed, Detail: "this consumer is not allowed on this route" + suffix}
	}
	var missing []string
	for _, s := range r.Scopes {
		if !id.HasScope(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return Decision{Reason: ReasonScope, Detail: "missing scope" + plural(missing) + suffix + ": " + list(missing)}
	}
	if len(r.Roles) > 0 && !slices.ContainsFunc(r.Roles, id.HasRole) {
		return Decision{Reason: ReasonRole, Detail: "requires one of the roles" + suffix + ": " + list(r.Roles)}
	}
	if len(r.Groups) > 0 && !slices.ContainsFunc(r.Groups, id.HasGroup) {
		return Decision{Reason: ReasonGroup, Detail: "requires membership of one of the groups" + suffix + ": " + list(r.Groups)}
	}
	return Decision{Allowed: true}
}

func plural(s []string) string {
	if len(s) > 1 {
		return "s"
	}
	return ""
}

// list names at most a few values, so a long policy does not make a long
// body.
func list(s []string) string {
	if len(s) > maxListedInDetail {
		return strings.Join(s[:maxListedInDetail], ", ") + fmt.Sprintf(" (and %d more)", len(s)-maxListedInDetail)
	}
	return strings.Join(s, ", ")
}

// Option configures Middleware.
type Option func(*options)

type options struct {
	metrics *Metrics
	logger  *slog.Logger
}

// WithMetrics counts denials in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithLogger logs each denial at debug level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Middleware enforces p: requests it denies get 403 with a problem+json
// body. Method names in p.Methods are matched in upper case.
func Middleware(p Policy, opts ...Option) func(http.Handler) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(p.Methods) > 0 {
		upper := make(map[string]Rule, len(p.Methods))
		for m, r := range p.Methods {
			upper[strings.ToUpper(m)] = r
		}
		p.Methods = upper
	}
	return func(next http.Handler) http.Handler {
		born := o.metrics.born() // wrapped when a route table is built
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := consumer.FromContext(r.Context())
			d := p.Decide(id, r.Method)
			if d.Allowed {
				next.ServeHTTP(w, r)
				return
			}
			routeName := outcome.Route(r)
			pd := problem.Details{Status: http.StatusForbidden, Type: "urn:gatescale:authz:" + string(d.Reason), Detail: d.Detail}
			if info := request.InfoFrom(r.Context()); info != nil {
				pd.Route = info.Route
				info.SetError("forbidden: " + string(d.Reason))
			}
			if o.metrics != nil {
				o.metrics.countDenied(routeName, routeseries.BornOf(r, born), string(d.Reason))
			}
			if o.logger != nil {
				who := ""
				if id != nil {
					who = id.ConsumerID
				}
				o.logger.Debug("request denied", "route", routeName, "consumer", who, "reason", string(d.Reason))
			}
			problem.Write(w, pd)
		})
	}
}

// DeniedTotal is the name of the denial counter.
const DeniedTotal = "gatescale_authz_denied_total"

// Metrics counts denials by route and Reason.
type Metrics struct {
	denied *prometheus.CounterVec
	routes *routeseries.Set[struct{}] // who may still count into a route's series
}

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("authz metrics: nil Registerer")
	}
	m := &Metrics{denied: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: DeniedTotal,
		Help: "Requests refused by authorization (403), by route and reason.",
	}, []string{"route", "reason"})}
	m.routes = routeseries.New(func(string) struct{} { return struct{}{} }, func(route string) {
		m.denied.DeletePartialMatch(prometheus.Labels{"route": route})
	})
	if err := reg.Register(m.denied); err != nil {
		return nil, fmt.Errorf("authz metrics: register: %w", err)
	}
	return m, nil
}

// born is the epoch of a middleware wrapped now (see routeseries.Set.Born).
func (m *Metrics) born() *routeseries.Birth {
	if m == nil {
		return nil
	}
	return m.routes.Born()
}

// countDenied counts a denial on route, or under route="(removed)" when
// the route was forgotten and its series deleted since the middleware
// (born) was wrapped: the client was refused all the same.
func (m *Metrics) countDenied(route string, born *routeseries.Birth, reason string) {
	rt := m.routes.Enter(route, born)
	if rt == nil {
		m.denied.WithLabelValues(routeseries.Removed, reason).Inc()
		return
	}
	m.denied.WithLabelValues(route, reason).Inc()
	m.routes.Exit(rt)
}
