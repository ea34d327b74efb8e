package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/ratelimit"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Options configure the admin API.
type Options struct {
	// Tokens authenticate callers (Authorization: Bearer SECRET); with
	// none, every request is refused with 401.
	Tokens *Tokens
	// Logger gets the audit lines of refused requests and of writes
	// (default slog.Default()).
	Logger *slog.Logger
	// Registry, if set, gets gatescale_admin_requests_total{code} and
	// gatescale_admin_auth_failures_total{reason}.
	Registry prometheus.Registerer
	// Validate are passed to live.Validate (e.g. spec.WithClientTLS).
	Validate []spec.Option
	// Check, if set, runs after validation on the candidate state: what
	// only building it finds (a key file that cannot be read, no
	// Kubernetes configuration). Pass live.Runtime.Check.
	Check func(*spec.Config) error
	// PurgeCache, if set, serves POST /admin/cache/purge: it removes the
	// stored answers under a host and path prefix from the response cache
	// of this process and returns how many keys it removed. Pass
	// live.Runtime.PurgeCache. It reaches only the replica whose admin
	// API received the request (see docs/admin.md). Unset, the endpoint
	// answers 501.
	PurgeCache func(prefix string) int
	// AuthFailures bounds failed authentications per client IP (default
	// 10 a minute); beyond it the IP gets 429 until the bucket refills.
	AuthFailures ratelimit.Limit
}

// API is the admin REST API: mount it on the admin listener under /admin/
// (gateway.Server.AdminHandlers{"/admin/": api}).
type API struct {
	store  Store
	opts   Options
	logger *slog.Logger
	mux    *http.ServeMux
	// authorized is mux behind the token check and each endpoint's role.
	authorized http.Handler
	roles      map[string]Role // by mux pattern
	failures   ratelimit.Local

	mu      sync.Mutex
	blocked map[string]time.Time // client IP → refused until

	requests     *prometheus.CounterVec
	authFailures *prometheus.CounterVec
}

// NewAPI returns the admin API over st.
func NewAPI(st Store, opts Options) (*API, error) {
	a := &API{store: st, opts: opts, logger: opts.Logger, blocked: map[string]time.Time{}}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.opts.AuthFailures.Rate == 0 {
		a.opts.AuthFailures = ratelimit.Limit{Rate: 10, Period: time.Minute}
	}
	if err := a.opts.AuthFailures.Validate(); err != nil {
		return nil, fmt.Errorf("admin: auth failures limit: %w", err)
	}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatescale_admin_requests_total",
		Help: "Admin API requests by status code."}, []string{"code"})
	a.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatescale_admin_auth_failures_total",
		Help: "Admin API requests refused by authentication or authorization, by reason."}, []string{"reason"})
	if opts.Registry != nil {
		if err := errors.Join(opts.Registry.Register(a.requests), opts.Registry.Register(a.authFailures)); err != nil {
			return nil, err
		}
	}
	a.mux = http.NewServeMux()
	a.roles = map[string]Role{}
	for _, e := range a.endpoints() {
		pattern := e.method + " " + e.path
		a.mux.HandleFunc(pattern, e.handler)
		a.roles[pattern] = e.role
	}
	a.mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no such admin resource", nil)
	})
	a.authorized = a.guard(a.required, a.mux)
	return a, nil
}

// required is the role a request needs: its endpoint's, from the table
// that also registers the handlers and writes the OpenAPI document; a
// request that matches no endpoint needs only to be authenticated (it gets
// 404 or 405).
func (a *API) required(r *http.Request) Role {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		if role, ok := a.roles[pattern]; ok {
			return role
		}
	}
	return Viewer
}

type actorKey struct{}

// Whoami is GET /admin/whoami: who the token is and what it may do.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	writeBody(w, http.StatusOK, Whoami{Name: p.Name, Role: p.Role.String()})
}

// ServeHTTP authenticates, authorizes and serves one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == OpenAPIPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		a.requests.WithLabelValues("200").Inc()
		a.serveOpenAPI(w)
		return
	}
	a.authorized.ServeHTTP(w, r)
}

// lookup finds a secret among the file's tokens, then the store's.
func (a *API) lookup(ctx context.Context, secret string) (string, Role, bool) {
	if name, role, ok := a.opts.Tokens.lookup(secret); ok {
		return name, role, true
	}
	keeper, ok := a.store.(TokenKeeper)
	if !ok || secret == "" {
		return "", 0, false
	}
	list, err := keeper.Tokens(ctx)
	if err != nil {
		a.logger.Warn("admin tokens of the store cannot be read", "err", err)
		return "", 0, false
	}
	want := HashToken(secret)
	for _, t := range list {
		if t.SHA256 == want {
			role, err := ParseRole(t.Role)
			return t.Name, role, err == nil
		}
	}
	return "", 0, false
}

func (a *API) refuse(r *http.Request, ip, actor, reason string) {
	a.authFailures.WithLabelValues(reason).Inc()
	a.logger.Warn("admin request refused", "reason", reason, "client_ip", ip, "actor", actor, "method", r.Method, "path", r.URL.Path)
}

// failed takes one failure from ip's bucket; an empty bucket blocks it.
func (a *API) failed(ip string) {
	res, err := a.failures.Allow(context.Background(), ip, a.opts.AuthFailures)
	if err == nil && !res.Allowed {
		now := time.Now()
		a.mu.Lock()
		if len(a.blocked) >= 10000 { // many addresses: drop the expired ones
			for k, until := range a.blocked {
				if now.After(until) {
					delete(a.blocked, k)
				}
			}
		}
		a.blocked[ip] = now.Add(res.RetryAfter)
		a.mu.Unlock()
	}
}

func (a *API) isBlocked(ip string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	until, ok := a.blocked[ip]
	if ok && time.Now().After(until) {
		delete(a.blocked, ip)
		return time.Time{}, false
	}
	return until, ok
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// FieldProblem is one entry of a 422 answer's errors: Pointer into the
// whole state (as GET /admin/config shows it), and Detail.
type FieldProblem struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

type problemBody struct {
	problem.Details
	Errors   []FieldProblem `json:"errors,omitempty"`
	Revision *uint64        `json:"revision,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, detail string, errs []FieldProblem) {
	writeProblemBody(w, problemBody{Details: problem.Details{Title: http.StatusText(status), Status: status, Detail: detail}, Errors: errs})
}

// conflict answers a write whose base is not the revision in force, rev:
// named in the body, so the client re-reads knowing where the state is.
func conflict(w http.ResponseWriter, detail string, rev uint64) {
	status := http.StatusPreconditionFailed
	writeProblemBody(w, problemBody{Details: problem.Details{Title: http.StatusText(status), Status: status, Detail: detail}, Revision: &rev})
}

func writeProblemBody(w http.ResponseWriter, body problemBody) {
	status := body.Status
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, rev uint64, v any) {
	w.Header().Set("ETag", etag(rev))
	writeBody(w, status, v)
}

func writeBody(w http.ResponseWriter, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func etag(rev uint64) string { return strconv.Quote(strconv.FormatUint(rev, 10)) }

// storeError answers a failed Load or Save.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrConflict):
		writeProblem(w, http.StatusPreconditionFailed, "the state changed since the revision in If-Match; GET it again and retry", nil)
	case errors.Is(err, ErrTooLarge):
		writeProblem(w, http.StatusRequestEntityTooLarge, "nothing was changed: "+err.Error(), nil)
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "the admin store cannot be reached; nothing was changed and the gateway keeps serving the last state: "+err.Error(), nil)
	default:
		writeProblem(w, http.StatusInternalServerError, err.Error(), nil)
	}
}

func (a *API) load(w http.ResponseWriter, r *http.Request) (State, bool) {
	st, err := a.store.Load(r.Context())
	if err != nil {
		storeError(w, err)
		return State{}, false
	}
	return st, true
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	if st, ok := a.load(w, r); ok {
		writeJSON(w, http.StatusOK, st.Revision, st.Config)
	}
}

func (a *API) listRevisions(w http.ResponseWriter, r *http.Request) {
	log, err := a.store.Audit(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	q := r.URL.Query()
	if actor := q.Get("actor"); actor != "" {
		log = slices.DeleteFunc(log, func(e Entry) bool { return e.Actor != actor })
	}
	// object=route/users keeps the revisions that added, changed or
	// removed that object.
	if obj := q.Get("object"); obj != "" {
		log = slices.DeleteFunc(log, func(e Entry) bool {
			return !slices.ContainsFunc(e.Summary, func(s string) bool { return len(s) > 1 && s[1:] == obj })
		})
	}
	if since := q.Get("since"); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "since must be an RFC 3339 time, e.g. 2026-11-28T12:00:00Z", nil)
			return
		}
		log = slices.DeleteFunc(log, func(e Entry) bool { return e.Time.Before(t) })
	}
	if log == nil {
		log = []Entry{}
	}
	writeBody(w, http.StatusOK, log)
}

func (a *API) getRevision(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "revision must be a number", nil)
		return
	}
	log, err := a.store.Audit(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	for _, e := range log {
		if e.Revision == n {
			view := RevisionView{Entry: e}
			if c, err := a.store.At(r.Context(), n); err == nil {
				view.Config = &c
			}
			writeBody(w, http.StatusOK, view)
			return
		}
	}
	writeProblem(w, http.StatusNotFound, fmt.Sprintf("revision %d is not in the audit log (the last %d are kept)", n, AuditSize), nil)
}

// RevisionView is GET /admin/revisions/{n}: the audit entry and, when
// kept, the state written at that revision.
type RevisionView struct {
	Entry
	Config *spec.Config `json:"config,omitempty"`
}

// rollback writes the state of an earlier revision as a new revision,
// through the same validation and CAS as any write.
func (a *API) rollback(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "revision must be a number", nil)
		return
	}
	old, err := a.store.At(r.Context(), n)
	switch {
	case errors.Is(err, ErrNoHistory):
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("the state of revision %d is not kept (the last %d are)", n, AuditSize), nil)
		return
	case err != nil:
		storeError(w, err)
		return
	}
	a.change(w, r, fmt.Sprintf("rollback to revision %d", n), func(c *spec.Config) (int, any) {
		*c = old
		return http.StatusOK, map[string]uint64{"rolled_back_to": n}
	})
}

// kind is one collection of the state the API manages by name.
type kind struct {
	plural, singular string
	schema           string // its OpenAPI schema name
	newObj           func() any
	list             func(c *spec.Config) any
	find             func(c *spec.Config, name string) (any, bool)
	// put sets obj as name; it returns the field path of obj in c.
	put func(c *spec.Config, name string, obj any) (path string, err *FieldProblem)
	del func(c *spec.Config, name string) bool
}

var kinds = []kind{
	{
		plural: "upstreams", singular: "upstream", schema: "Upstream",
		newObj: func() any { return new(spec.Upstream) },
		list: func(c *spec.Config) any {
			if c.Upstreams == nil {
				return map[string]spec.Upstream{}
			}
			return c.Upstreams
		},
		find: func(c *spec.Config, name string) (any, bool) { u, ok := c.Upstreams[name]; return u, ok },
		put: func(c *spec.Config, name string, obj any) (string, *FieldProblem) {
			if c.Upstreams == nil {
				c.Upstreams = map[string]spec.Upstream{}
			}
			c.Upstreams[name] = *obj.(*spec.Upstream)
			return spec.Join("upstreams", name), nil
		},
		del: func(c *spec.Config, name string) bool {
			_, ok := c.Upstreams[name]
			delete(c.Upstreams, name)
			return ok
		},
	},
	{
		plural: "routes", singular: "route", schema: "Route",
		newObj: func() any { return new(spec.Route) },
		list: func(c *spec.Config) any {
			if c.Routes == nil {
				return []spec.Route{}
			}
			return c.Routes
		},
		find: func(c *spec.Config, name string) (any, bool) {
			i := slices.IndexFunc(c.Routes, func(r spec.Route) bool { return r.Name == name })
			if i < 0 {
				return nil, false
			}
			return c.Routes[i], true
		},
		put: func(c *spec.Config, name string, obj any) (string, *FieldProblem) {
			r := *obj.(*spec.Route)
			if r.Name == "" {
				r.Name = name
			}
			if r.Name != name {
				return "", &FieldProblem{Pointer: "/name", Detail: fmt.Sprintf("name %q differs from the name in the path, %q", r.Name, name)}
			}
			i := slices.IndexFunc(c.Routes, func(r spec.Route) bool { return r.Name == name })
			if i < 0 {
				i = len(c.Routes)
				c.Routes = append(c.Routes, r)
			} else {
				c.Routes[i] = r
			}
			return spec.Index("routes", i), nil
		},
		del: func(c *spec.Config, name string) bool {
			n := len(c.Routes)
			c.Routes = slices.DeleteFunc(c.Routes, func(r spec.Route) bool { return r.Name == name })
			return len(c.Routes) != n
		},
	},
	{
		plural: "consumers", singular: "consumer", schema: "Consumer",
		newObj: func() any { return new(consumer.Consumer) },
		list: func(c *spec.Config) any {
			if c.Consumers == nil {
				return []consumer.Consumer{}
			}
			return c.Consumers
		},
		find: func(c *spec.Config, id string) (any, bool) {
			i := slices.IndexFunc(c.Consumers, func(x consumer.Consumer) bool { return x.ID == id })
			if i < 0 {
				return nil, false
			}
			return c.Consumers[i], true
		},
		put: func(c *spec.Config, id string, obj any) (string, *FieldProblem) {
			x := *obj.(*consumer.Consumer)
			if x.ID == "" {
				x.ID = id
			}
			if x.ID != id {
				return "", &FieldProblem{Pointer: "/id", Detail: fmt.Sprintf("id %q differs from the id in the path, %q", x.ID, id)}
			}
			i := slices.IndexFunc(c.Consumers, func(x consumer.Consumer) bool { return x.ID == id })
			if i < 0 {
				i = len(c.Consumers)
				c.Consumers = append(c.Consumers, x)
			} else {
				c.Consumers[i] = x
			}
			return spec.Index("consumers", i), nil
		},
		del: func(c *spec.Config, id string) bool {
			n := len(c.Consumers)
			c.Consumers = slices.DeleteFunc(c.Consumers, func(x consumer.Consumer) bool { return x.ID == id })
			return len(c.Consumers) != n
		},
	},
}

func (a *API) list(k kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if st, ok := a.load(w, r); ok {
			writeJSON(w, http.StatusOK, st.Revision, k.list(&st.Config))
		}
	}
}

func (a *API) get(k kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, ok := a.load(w, r)
		if !ok {
			return
		}
		obj, ok := k.find(&st.Config, r.PathValue("name"))
		if !ok {
			writeProblem(w, http.StatusNotFound, fmt.Sprintf("no %s %q", k.singular, r.PathValue("name")), nil)
			return
		}
		writeJSON(w, http.StatusOK, st.Revision, obj)
	}
}

// ifMatch returns the base revision of a write: If-Match is required.
func ifMatch(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		writeProblem(w, http.StatusPreconditionRequired, `writes need If-Match: "REVISION" (the ETag of GET /admin/config or of the object)`, nil)
		return 0, false
	}
	if strings.HasPrefix(v, "W/") {
		// If-Match compares strongly (RFC 9110 13.1.1): a weak tag never
		// matches, and the revisions' ETags are strong.
		writeProblem(w, http.StatusPreconditionFailed, fmt.Sprintf("If-Match %q is a weak tag; it takes the strong ETag, \"REVISION\"", r.Header.Get("If-Match")), nil)
		return 0, false
	}
	if u, err := strconv.Unquote(v); err == nil {
		v = u
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		writeProblem(w, http.StatusPreconditionFailed, fmt.Sprintf("If-Match %q is not a revision", r.Header.Get("If-Match")), nil)
		return 0, false
	}
	return n, true
}

// change loads the state at the If-Match revision, lets edit change a copy,
// validates the whole candidate with live.Validate and saves it with CAS.
// edit returns the HTTP status to answer on success, or writes a problem
// and returns 0. A refused change changes nothing.
func (a *API) change(w http.ResponseWriter, r *http.Request, msg string, edit func(c *spec.Config) (int, any)) {
	base, ok := ifMatch(w, r)
	if !ok {
		return
	}
	st, ok := a.load(w, r)
	if !ok {
		return
	}
	if st.Revision != base {
		conflict(w, fmt.Sprintf("If-Match names revision %d; the state is at %d", base, st.Revision), st.Revision)
		return
	}
	cand, err := clone(&st.Config)
	if err != nil {
		storeError(w, err)
		return
	}
	status, out := edit(&cand)
	if status == 0 {
		return
	}
	err = live.Validate(&cand, a.opts.Validate...)
	if err == nil && a.opts.Check != nil {
		err = a.opts.Check(&cand)
	}
	if err != nil {
		fields, other := spec.FieldErrors(err)
		var probs []FieldProblem
		for _, fe := range fields {
			probs = append(probs, FieldProblem{Pointer: fe.Pointer(), Detail: fe.Message})
		}
		for _, e := range other {
			probs = append(probs, FieldProblem{Pointer: "", Detail: e.Error()})
		}
		writeProblem(w, http.StatusUnprocessableEntity, "the state this change would make is not valid; nothing was changed", probs)
		return
	}
	actor, _ := r.Context().Value(actorKey{}).(string)
	if m := r.Header.Get("X-Change-Message"); m != "" {
		msg = m
	}
	rev, err := a.store.Save(r.Context(), base, &cand, Change{Actor: actor, Message: msg})
	if errors.Is(err, ErrConflict) { // another write committed since the load above
		if now, lerr := a.store.Load(r.Context()); lerr == nil {
			conflict(w, fmt.Sprintf("another change was committed first; the state is at revision %d", now.Revision), now.Revision)
			return
		}
	}
	if err != nil {
		storeError(w, err)
		return
	}
	a.logger.Info("admin change", "actor", actor, "revision", rev, "method", r.Method, "path", r.URL.Path, "message", msg)
	// What the state is warned about but not refused for (route
	// shadowing): one Gatescale-Warning per finding, "POINTER: message".
	for _, fe := range live.Warnings(&cand) {
		w.Header().Add("Gatescale-Warning", fe.Pointer()+": "+fe.Message)
		a.logger.Warn("admin change applied with a warning", "revision", rev, "pointer", fe.Pointer(), "warning", fe.Message)
	}
	writeJSON(w, status, rev, out)
}

func (a *API) put(k kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			writeProblem(w, http.StatusBadRequest, err.Error(), nil)
			return
		}
		obj := k.newObj()
		if err := DecodeStrict(body, obj); err != nil {
			var de *DecodeError
			errors.As(err, &de)
			writeProblem(w, de.status(), "the body is not a "+k.singular, []FieldProblem{{Pointer: de.Pointer, Detail: de.Message}})
			return
		}
		name := r.PathValue("name")
		a.change(w, r, "put "+k.singular+" "+name, func(c *spec.Config) (int, any) {
			prev, existed := k.find(c, name)
			if r, ok := obj.(*spec.Route); ok {
				from := ""
				if existed {
					from = lifecycle.State(prev.(spec.Route).Lifecycle)
				}
				to := lifecycle.State(r.Lifecycle)
				if err := lifecycle.Transition(from, to); existed && err != nil {
					writeProblem(w, http.StatusConflict, err.Error(), []FieldProblem{{Pointer: "/lifecycle/state", Detail: err.Error()}})
					return 0, nil
				}
				// Deprecated now, without a date: the time of the transition
				// is its Deprecation date (RFC 9745), kept in the state so
				// that restarts and every replica send the same one.
				if to == spec.LifecycleDeprecated && from != spec.LifecycleDeprecated && r.Lifecycle.Since == "" {
					r.Lifecycle.Since = time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
				}
			}
			if _, fp := k.put(c, name, obj); fp != nil {
				writeProblem(w, http.StatusUnprocessableEntity, "the body does not match the path", []FieldProblem{*fp})
				return 0, nil
			}
			out, _ := k.find(c, name)
			if existed {
				return http.StatusOK, out
			}
			return http.StatusCreated, out
		})
	}
}

func (a *API) del(k kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		a.change(w, r, "delete "+k.singular+" "+name, func(c *spec.Config) (int, any) {
			if !k.del(c, name) {
				writeProblem(w, http.StatusNotFound, fmt.Sprintf("no %s %q", k.singular, name), nil)
				return 0, nil
			}
			return http.StatusOK, map[string]string{"deleted": name}
		})
	}
}

// NewKey is the answer of POST /admin/consumers/{id}/keys: the only time
// the key itself is shown; the store keeps its SHA-256.
type NewKey struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func (a *API) newKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     string `json:"id"`
		Prefix string `json:"prefix"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := DecodeStrict(body, &req); err != nil {
			var de *DecodeError
			errors.As(err, &de)
			writeProblem(w, de.status(), "the body is not a key request", []FieldProblem{{Pointer: de.Pointer, Detail: de.Message}})
			return
		}
	}
	id := r.PathValue("name")
	if req.Prefix == "" {
		req.Prefix = "gsk_"
	}
	key, hash := consumer.GenerateKey(req.Prefix)
	if req.ID == "" {
		req.ID = id + "-" + hash.String()[:8]
	}
	a.change(w, r, "new API key "+req.ID+" for consumer "+id, func(c *spec.Config) (int, any) {
		i := slices.IndexFunc(c.Consumers, func(x consumer.Consumer) bool { return x.ID == id })
		if i < 0 {
			writeProblem(w, http.StatusNotFound, fmt.Sprintf("no consumer %q", id), nil)
			return 0, nil
		}
		c.Consumers[i].APIKeys = append(c.Consumers[i].APIKeys, consumer.APIKey{ID: req.ID, SHA256: hash.String()})
		return http.StatusCreated, NewKey{ID: req.ID, Key: key}
	})
}

// TokenView is a token as GET /admin/tokens shows it: no hash.
type TokenView struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Token is the secret, in the answer that created it only.
	Token string `json:"token,omitempty"`
}

func (a *API) keeper(w http.ResponseWriter) (TokenKeeper, bool) {
	k, ok := a.store.(TokenKeeper)
	if !ok {
		writeProblem(w, http.StatusNotImplemented, "this store keeps no tokens; use the tokens file", nil)
	}
	return k, ok
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	k, ok := a.keeper(w)
	if !ok {
		return
	}
	list, err := k.Tokens(r.Context())
	if err != nil {
		storeError(w, err)
		return
	}
	out := []TokenView{}
	for _, t := range list {
		out = append(out, TokenView{Name: t.Name, Role: t.Role})
	}
	writeBody(w, http.StatusOK, out)
}

// putToken makes a new secret for a token name (a new one, or a rotation)
// and shows it once; the store keeps its SHA-256.
func (a *API) putToken(w http.ResponseWriter, r *http.Request) {
	k, ok := a.keeper(w)
	if !ok {
		return
	}
	var req struct {
		Role string `json:"role"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err := DecodeStrict(body, &req); err != nil {
		var de *DecodeError
		errors.As(err, &de)
		writeProblem(w, de.status(), "the body is not a token request", []FieldProblem{{Pointer: de.Pointer, Detail: de.Message}})
		return
	}
	if _, err := ParseRole(req.Role); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, err.Error(), []FieldProblem{{Pointer: "/role", Detail: err.Error()}})
		return
	}
	name := r.PathValue("name")
	secret, _ := consumer.GenerateKey("gsa_")
	if err := k.PutToken(r.Context(), Token{Name: name, SHA256: HashToken(secret), Role: req.Role}); err != nil {
		storeError(w, err)
		return
	}
	actor, _ := r.Context().Value(actorKey{}).(string)
	a.logger.Info("admin token set", "actor", actor, "token", name, "role", req.Role)
	writeBody(w, http.StatusCreated, TokenView{Name: name, Role: req.Role, Token: secret})
}

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) {
	k, ok := a.keeper(w)
	if !ok {
		return
	}
	name := r.PathValue("name")
	found, err := k.DeleteToken(r.Context(), name)
	if err != nil {
		storeError(w, err)
		return
	}
	if !found {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("no token %q in the store", name), nil)
		return
	}
	actor, _ := r.Context().Value(actorKey{}).(string)
	a.logger.Info("admin token deleted", "actor", actor, "token", name)
	writeBody(w, http.StatusOK, map[string]string{"deleted": name})
}
