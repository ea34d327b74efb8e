package consul

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/gatescale/gatescale/gateway/discovery"
)

// Resolver is a discovery.Resolver over Consul's health endpoint.
type Resolver struct {
	client       *api.Client
	tags         []string
	datacenter   string
	namespace    string
	partition    string
	filter       string
	passingOnly  bool
	stale        bool
	wait         time.Duration
	minBackoff   time.Duration
	maxBackoff   time.Duration
	restartGrace time.Duration
	logger       *slog.Logger
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithTags keeps only instances carrying all of tags.
func WithTags(tags ...string) Option { return func(r *Resolver) { r.tags = tags } }

// WithDatacenter queries another datacenter than the agent's.
func WithDatacenter(dc string) Option { return func(r *Resolver) { r.datacenter = dc } }

// WithNamespace sets the Consul Enterprise namespace.
func WithNamespace(ns string) Option { return func(r *Resolver) { r.namespace = ns } }

// WithPartition sets the Consul Enterprise admin partition.
func WithPartition(p string) Option { return func(r *Resolver) { r.partition = p } }

// WithFilter applies a Consul filter expression, e.g.
// `Service.Meta.version == "v2"`.
func WithFilter(expr string) Option { return func(r *Resolver) { r.filter = expr } }

// WithPassingOnly chooses between passing instances only (the default) and
// passing plus warning ones; critical instances are never used.
func WithPassingOnly(v bool) Option { return func(r *Resolver) { r.passingOnly = v } }

// WithStale lets any Consul server answer, not only the leader (Consul's
// stale consistency mode, off by default): discovery reads then spread over
// the servers instead of all landing on the leader, and keep being answered
// while the cluster elects a new one, at the price of answers that may lag
// the leader by a little (usually well under a second). Consul recommends it
// for service discovery in large clusters. Whatever the mode, an answer
// whose index is lower than one seen before (a follower behind the leader)
// is checked with a consistent read before it is believed, so a lagging
// server does not take instances away for the time it lags.
func WithStale(v bool) Option { return func(r *Resolver) { r.stale = v } }

// WithWaitTime sets the longest wait of one blocking query (default 5m;
// Consul caps it at 10m).
func WithWaitTime(d time.Duration) Option { return func(r *Resolver) { r.wait = d } }

// WithBackoff sets the retry backoff range after errors (default 100ms–10s,
// exponential with full jitter).
func WithBackoff(lo, hi time.Duration) Option {
	return func(r *Resolver) { r.minBackoff, r.maxBackoff = lo, hi }
}

// WithRestartGrace sets how long an empty answer right after Consul restarted
// is treated as "not rebuilt yet" rather than "no instances" (default 10s).
func WithRestartGrace(d time.Duration) Option { return func(r *Resolver) { r.restartGrace = d } }

// WithLogger sets the logger of the resolver's own messages (default
// slog.Default()): Consul unreachable (once per outage) and answering
// again, and Consul restarted without its state. The watch's callback gets
// the errors too, as Update.Err.
func WithLogger(l *slog.Logger) Option { return func(r *Resolver) { r.logger = l } }

// NewResolver returns a Resolver using client.
func NewResolver(client *api.Client, opts ...Option) *Resolver {
	r := &Resolver{
		client: client, passingOnly: true, wait: 5 * time.Minute,
		minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second, restartGrace: 10 * time.Second,
		logger: slog.Default(),
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Equal reports whether other is a Resolver with the same client and
// settings, so a configuration reload can keep a running watch.
func (r *Resolver) Equal(other discovery.Resolver) bool {
	o, ok := other.(*Resolver)
	return ok && r.client == o.client && r.settings() == o.settings()
}

func (r *Resolver) settings() string {
	return fmt.Sprintf("%q|%s|%s|%s|%q|%t|%t|%v|%v|%v|%v", r.tags, r.datacenter, r.namespace, r.partition,
		r.filter, r.passingOnly, r.stale, r.wait, r.minBackoff, r.maxBackoff, r.restartGrace)
}

// NewClient returns a Consul client configured the standard way:
// api.DefaultConfig reads CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN,
// CONSUL_HTTP_SSL, CONSUL_CACERT and the rest; a non-empty addr or token
// overrides them.
func NewClient(addr, token string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	if token != "" {
		cfg.Token = token
	}
	return api.NewClient(cfg)
}

// Watch implements discovery.Resolver.
func (r *Resolver) Watch(ctx context.Context, service string, fn func(discovery.Update)) error {
	var (
		index     uint64
		seen      uint64 // the highest index answered: a lower one means Consul lost its state
		last      []discovery.Instance
		delivered bool
		failures  int
		holdUntil time.Time // restart grace: an empty answer before this is not trusted
	)
	for ctx.Err() == nil {
		wait := r.wait
		if !holdUntil.IsZero() {
			if d := time.Until(holdUntil); d > 0 && d < wait {
				wait = d // wake when the grace ends even if nothing changes
			}
		}
		entries, meta, err := r.query(ctx, service, index, wait, r.stale, false)
		if err == nil && meta.LastIndex < seen {
			// A follower that lags the leader may answer: any server
			// answers a stale read, and an agent with discovery_max_stale
			// lets one answer the others. Its older set would take away
			// instances the leader has until it catches up. A lower index
			// is a Consul that lost its state only if the leader says so
			// as well (consistent: the leader itself answers).
			r.logger.Debug("consul resolver: a server answered with an index lower than one seen before; asking the leader",
				"service", service, "index", meta.LastIndex, "seen", seen)
			entries, meta, err = r.query(ctx, service, 0, wait, false, true)
			if err != nil {
				err = fmt.Errorf("a server answered with index lower than one seen before, and the leader could not be asked: %w", err)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			if failures == 1 { // once per outage, not per retry
				r.logger.Warn("consul resolver: cannot query the service's health; keeping the last known instances",
					"service", service, "instances", len(last), "err", err)
			}
			fn(discovery.Update{Instances: last, Err: fmt.Errorf("consul: service %s: %w", service, err)})
			// Ask without blocking next time: a Consul that comes back with
			// unchanged data would otherwise hold the query for the whole
			// wait, and the set would stay marked stale.
			index, delivered = 0, false
			if !sleep(ctx, backoff(r.minBackoff, r.maxBackoff, failures)) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.logger.Info("consul resolver: Consul answers again", "service", service, "failed_queries", failures)
		}
		failures = 0
		switch {
		case meta.LastIndex < seen:
			// Consul restarted without its state (or its raft log was
			// reset): a non-persistent agent comes back empty and services
			// re-register over the next seconds, so an empty answer is not
			// trusted yet. An error alone (a dropped connection, a timeout)
			// is no such sign: Consul answers from the state it kept, whose
			// index is not lower, and an empty set it gives is the truth.
			r.logger.Warn("consul resolver: Consul's index went back (it restarted without its state); an empty answer is not trusted until the restart grace ends",
				"service", service, "index", meta.LastIndex, "seen", seen, "restart_grace", r.restartGrace.String())
			index, seen = meta.LastIndex, meta.LastIndex
			holdUntil = time.Now().Add(r.restartGrace)
		case meta.LastIndex == 0:
			index = 1 // never block on index 0 forever: Consul's advice
		default:
			index = meta.LastIndex
		}
		seen = max(seen, meta.LastIndex)
		insts := r.instances(entries)
		if len(insts) == 0 && len(last) > 0 && time.Now().Before(holdUntil) {
			fn(discovery.Update{Instances: last, Err: fmt.Errorf("consul: service %s: empty answer right after a Consul restart; keeping %d known instances for up to %v", service, len(last), r.restartGrace)})
			delivered = false
			continue
		}
		holdUntil = time.Time{}
		if delivered && sameSet(insts, last) {
			continue
		}
		last, delivered = insts, true
		fn(discovery.Update{Instances: insts})
	}
	return nil
}

// query asks Consul for service's health entries, blocking while its index
// is index (0: not at all) for up to wait; stale lets any server answer,
// consistent only the leader.
func (r *Resolver) query(ctx context.Context, service string, index uint64, wait time.Duration, stale, consistent bool) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	q := (&api.QueryOptions{
		WaitIndex: index, WaitTime: wait, Datacenter: r.datacenter,
		Namespace: r.namespace, Partition: r.partition, Filter: r.filter,
		AllowStale: stale, RequireConsistent: consistent,
	}).WithContext(ctx)
	return r.client.Health().ServiceMultipleTags(service, r.tags, r.passingOnly, q)
}

// instances converts health entries, skipping critical ones (which appear
// when passing-only is off) and weighting warning ones by Weights.Warning.
func (r *Resolver) instances(entries []*api.ServiceEntry) []discovery.Instance {
	out := make([]discovery.Instance, 0, len(entries))
	for _, e := range entries {
		status := e.Checks.AggregatedStatus()
		if status == api.HealthCritical || status == api.HealthMaint {
			continue
		}
		host := e.Service.Address
		if host == "" {
			host = e.Node.Address
		}
		weight := e.Service.Weights.Passing
		if status == api.HealthWarning {
			weight = e.Service.Weights.Warning
		}
		if weight <= 0 && status == api.HealthWarning {
			continue // Consul's meaning of a zero warning weight: send nothing
		}
		scheme := ""
		if e.Service.Meta["scheme"] == "https" {
			scheme = "https"
		}
		out = append(out, discovery.Instance{
			ID:     e.Node.Node + "/" + e.Service.ID,
			Addr:   net.JoinHostPort(host, strconv.Itoa(e.Service.Port)),
			Scheme: scheme,
			Weight: weight,
			Meta:   e.Service.Meta,
			Tags:   e.Service.Tags,
		})
	}
	slices.SortFunc(out, func(a, b discovery.Instance) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

func sameSet(a, b []discovery.Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Addr != y.Addr || x.Scheme != y.Scheme || x.Weight != y.Weight ||
			!slices.Equal(x.Tags, y.Tags) || len(x.Meta) != len(y.Meta) {
			return false
		}
		for k, v := range x.Meta {
			if y.Meta[k] != v {
				return false
			}
		}
	}
	return true
}

// backoff is exponential with full jitter, so many gateways that lost
// Consul at once do not come back in lockstep.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo << min(failures-1, 20)
	if d <= 0 || d > hi {
		d = hi
	}
	return lo/2 + rand.N(d)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
