package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/problem"
)

//go:embed ui
var files embed.FS

// Prefix is where the console is served on the admin listener.
const Prefix = "/console/"

// ContentSecurityPolicy is sent with every page and answer of the console:
// only the console's own scripts, styles and API; no inline script or
// style, no framing, no plugins, no form posts elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure a Console.
type Options struct {
	// Gateway is the running gateway whose upstreams and routes are shown.
	// Required.
	Gateway *gateway.Gateway
	// Gatherer is the gateway's metrics registry (what /metrics serves);
	// the live numbers are computed from it. Required.
	Gatherer prometheus.Gatherer
	// Guard authenticates the console's own JSON endpoints as the admin API
	// authenticates its requests: pass (*admin.API).Guard. Required: the
	// console serves nothing unauthenticated but its static files.
	Guard func(need admin.Role, h http.Handler) http.Handler
	// Every is the sampling period of the live numbers (default 1s), and
	// History how many samples are kept (default 300: five minutes).
	Every   time.Duration
	History int
	// Self names this replica in the per-replica view (default "local").
	Self string
	// Peers are the admin listener base URLs of the other replicas
	// ("http://10.0.0.6:9090"); their /metrics is read each period for the
	// per-replica view. Empty: only this replica is shown.
	Peers []string
	// PrometheusURL, when set, adds the cluster-wide view: every replica's
	// traffic per API over the last minute, queried from that Prometheus
	// (which scrapes the replicas' /metrics).
	PrometheusURL string
	// Autoscaling, when set, gives the autoscaling view (replicas and the
	// QPS per pod the HPA reads); nil hides it (not in Kubernetes, or no
	// permission to read the HPA).
	Autoscaling func(ctx context.Context) (Autoscaling, error)
	// Client reads the peers' /metrics (default: a client with a timeout
	// shorter than Every).
	Client *http.Client
	Logger *slog.Logger
}

// Autoscaling is the autoscaling view: what the HPA of the gateway's
// Deployment sees.
type Autoscaling struct {
	HPA             string  `json:"hpa"`
	CurrentReplicas int     `json:"current_replicas"`
	DesiredReplicas int     `json:"desired_replicas"`
	MinReplicas     int     `json:"min_replicas"`
	MaxReplicas     int     `json:"max_replicas"`
	QPSPerPod       float64 `json:"qps_per_pod"`
	TargetQPSPerPod float64 `json:"target_qps_per_pod"`
}

// Console serves the operator console. Create it with New, mount
// Handlers on the admin listener and Run its sampler.
type Console struct {
	opts    Options
	sampler *sampler
	ui      fs.FS
	prom    promv1.API // nil without Options.PrometheusURL
}

// New checks o and returns a Console.
func New(o Options) (*Console, error) {
	switch {
	case o.Gateway == nil:
		return nil, errors.New("console: Options.Gateway is required")
	case o.Gatherer == nil:
		return nil, errors.New("console: Options.Gatherer is required")
	case o.Guard == nil:
		return nil, errors.New("console: Options.Guard is required (the admin API's Guard)")
	}
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.History <= 0 {
		o.History = 300
	}
	if o.Self == "" {
		o.Self = "local"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Every * 8 / 10}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ui, err := fs.Sub(files, "ui")
	if err != nil {
		return nil, err
	}
	c := &Console{opts: o, sampler: newSampler(o), ui: ui}
	if o.PrometheusURL != "" {
		if c.prom, err = newPromAPI(o.PrometheusURL); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Run samples the gateway's metrics (and the peers') every period until
// ctx ends; the live numbers stay empty without it.
func (c *Console) Run(ctx context.Context) { c.sampler.run(ctx) }

// Handlers returns the console's handlers by http.ServeMux pattern, for
// gateway.Server.AdminHandlers (next to the admin API's "/admin/").
func (c *Console) Handlers() map[string]http.Handler {
	g := func(h http.HandlerFunc) http.Handler { return secure(c.opts.Guard(admin.Viewer, h)) }
	return map[string]http.Handler{
		"GET " + Prefix:                     secure(http.StripPrefix(Prefix, http.FileServerFS(c.ui))),
		"GET " + Prefix + "api/session":     g(c.session),
		"GET " + Prefix + "api/stats":       g(c.stats),
		"GET " + Prefix + "api/upstreams":   g(c.upstreams),
		"GET " + Prefix + "api/graph":       g(c.graph),
		"GET " + Prefix + "api/autoscaling": g(c.autoscaling),
		"GET " + Prefix + "api/cluster":     g(c.cluster),
	}
}

// secure sets the headers every console answer carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// Session is GET /console/api/session: who the token is and what it may do.
type Session struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (c *Console) session(w http.ResponseWriter, r *http.Request) {
	p, _ := admin.PrincipalOf(r.Context())
	writeJSON(w, Session{Name: p.Name, Role: p.Role.String()})
}

func (c *Console) autoscaling(w http.ResponseWriter, r *http.Request) {
	if c.opts.Autoscaling == nil {
		problem.Write(w, problem.Details{Status: http.StatusNotFound, Detail: "no autoscaling view: not running in Kubernetes with permission to read the HPA"})
		return
	}
	a, err := c.opts.Autoscaling(r.Context())
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusBadGateway, Detail: "the autoscaling view cannot be read: " + err.Error()})
		return
	}
	writeJSON(w, a)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusInternalServerError, Detail: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
