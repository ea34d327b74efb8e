package kube

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/gatescale/gatescale/gateway/discovery"
)

// Resolver is a discovery.Resolver over EndpointSlices. Service names are
// "name" (in the resolver's namespace) or "namespace/name".
type Resolver struct {
	client    kubernetes.Interface
	namespace string
	port      string
	resync    time.Duration
	logger    *slog.Logger
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithNamespace sets the namespace of bare service names (default "default").
func WithNamespace(ns string) Option { return func(r *Resolver) { r.namespace = ns } }

// WithPort selects the Service port by name (default: the only port, or the
// first one when there are several).
func WithPort(name string) Option { return func(r *Resolver) { r.port = name } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Resolver) { r.logger = l } }

// NewResolver returns a Resolver using client.
func NewResolver(client kubernetes.Interface, opts ...Option) *Resolver {
	r := &Resolver{client: client, namespace: "default", resync: 10 * time.Minute, logger: slog.Default()}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Equal reports whether other is a Resolver with the same client and
// settings, so a configuration reload can keep a running watch.
func (r *Resolver) Equal(other discovery.Resolver) bool {
	o, ok := other.(*Resolver)
	return ok && r.client == o.client && r.namespace == o.namespace && r.port == o.port && r.resync == o.resync
}

// Watch implements discovery.Resolver.
func (r *Resolver) Watch(ctx context.Context, service string, fn func(discovery.Update)) error {
	ns, name := r.namespace, service
	if i := strings.IndexByte(service, '/'); i >= 0 {
		ns, name = service[:i], service[i+1:]
	}
	if ns == "" || name == "" {
		return fmt.Errorf("kube resolver: service %q is not name or namespace/name", service)
	}
	selector := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}).String()
	api := r.client.DiscoveryV1().EndpointSlices(ns)

	// Events only signal "something changed"; the set is recomputed from the
	// lister, so a burst of events costs one delivery.
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	// The informer retries failed lists and watches by itself and says
	// nothing of them (a refused connection it retries without even calling
	// its watch error handler); these carry the latest failure, and the news
	// that a watch is running again, to the loop below, which reports them
	// as the discovery package asks (an Update with Err and the last known
	// set).
	failed := make(chan error, 1)
	watching := make(chan struct{}, 1)
	var lastCall atomic.Pointer[error] // the last List or Watch call error
	report := func(ctx context.Context, err error) {
		if ctx.Err() != nil {
			return // shutting down
		}
		for { // keep only the latest failure
			select {
			case failed <- err:
				return
			case <-failed:
			}
		}
	}
	call := func(ctx context.Context, err error) {
		if err != nil {
			lastCall.Store(&err)
			report(ctx, err)
		}
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			a := &attempts{}
			l, err := api.List(a.trace(ctx, func(err error) { report(ctx, err) }), o)
			call(ctx, err)
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			a := &attempts{}
			w, err := api.Watch(a.trace(ctx, func(err error) { report(ctx, err) }), o)
			call(ctx, err)
			// client-go answers a watch whose every attempt lost its
			// connection with an empty watch and no error: that one is
			// not following again.
			if err == nil && !a.failedUnanswered() {
				select {
				case watching <- struct{}{}:
				default:
				}
			}
			return w, err
		},
	}
	// As client-go's generated informers do: a client that cannot stream
	// the initial list in a watch (a fake clientset) is listed instead.
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, r.client), &discoveryv1.EndpointSlice{}, r.resync, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	// The handler also sees failures of a running watch stream. It replaces
	// client-go's default, which logs through klog instead of r.logger.
	if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, _ *cache.Reflector, err error) {
		// Failed calls are reported already; the ends of a watch the
		// informer resumes on its own (expired resource version, closed
		// stream) are routine, not failures.
		if c := lastCall.Load(); c != nil && errors.Is(err, *c) {
			return
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return
		}
		report(ctx, err)
	}); err != nil {
		return err
	}
	lister := discoverylisters.NewEndpointSliceLister(inf.GetIndexer()).EndpointSlices(ns)
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { signal() },
		UpdateFunc: func(any, any) { signal() },
		DeleteFunc: func(any) { signal() },
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	// client-go logs through the context's logger (klog's contextual
	// logging): its warnings about this watch go to r.logger, in the
	// program's format, not to klog's stderr.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(r.logger.Handler()))
	stopped := make(chan struct{})
	go func() { defer close(stopped); inf.RunWithContext(ctx) }()
	defer func() { cancel(); <-stopped }()

	key := ns + "/" + name
	var stale error // the failure the current set is stale by, if any
	fail := func(err error, last []discovery.Instance) {
		if stale == nil {
			r.logger.Warn("kube resolver: cannot list or watch EndpointSlices; keeping the last known instances", "service", key, "instances", len(last), "err", err)
		}
		stale = fmt.Errorf("kube: service %s: %w", key, err)
		fn(discovery.Update{Instances: last, Err: stale})
	}

	// Until the first list succeeds there is no set to deliver, only
	// failures (a forbidden or unreachable API server).
	synced := make(chan struct{})
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			close(synced)
		}
	}()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			fail(err, nil)
		case <-synced:
			waiting = false
		}
	}
	var last []discovery.Instance
	first := true
	for {
		list, err := lister.List(labels.Everything())
		if err != nil {
			fn(discovery.Update{Instances: last, Err: err})
		} else if insts := r.instances(list); first || !equal(insts, last) {
			last, first = insts, false
			fn(discovery.Update{Instances: insts, Err: stale})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case err := <-failed:
			fail(err, last)
		case <-watching:
			if stale != nil {
				// Following again: the set is current, say so even if it
				// did not change.
				stale = nil
				r.logger.Info("kube resolver: watching EndpointSlices again", "service", key)
				first = true
			}
		}
	}
}

// instances merges the slices' endpoints that may take new requests: the
// ready ones, or — when no endpoint of the Service is ready — the ones that
// are terminating but still serving, as kube-proxy does (KEP-1669), so a
// Service whose every pod is shutting down keeps answering until one is
// replaced instead of failing outright.
func (r *Resolver) instances(list []*discoveryv1.EndpointSlice) []discovery.Instance {
	ready, serving := picked{}, picked{}
	for _, s := range list {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		port, ok := r.pickPort(s.Ports)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			// Nil Ready and Serving mean true, nil Terminating false (the
			// API's rules). A terminating endpoint is not ready, but say so
			// explicitly in case a controller sets Ready on one.
			c := ep.Conditions
			terminating := c.Terminating != nil && *c.Terminating
			isReady := (c.Ready == nil || *c.Ready) && !terminating
			isServing := terminating && (c.Serving == nil || *c.Serving)
			if !isReady && !isServing {
				continue
			}
			addr := net.JoinHostPort(ep.Addresses[0], strconv.Itoa(port))
			inst := discovery.Instance{ID: addr, Addr: addr, Meta: map[string]string{}}
			key := "addr:" + addr
			if ep.TargetRef != nil {
				inst.Meta["pod"] = ep.TargetRef.Name
				key = "ref:" + ep.TargetRef.Kind + "/" + ep.TargetRef.Name
			}
			if ep.NodeName != nil {
				inst.Meta["node"] = *ep.NodeName
			}
			if ep.Zone != nil {
				inst.Meta["zone"] = *ep.Zone
			}
			p := serving
			if isReady {
				p = ready
			}
			p.add(key, inst, s.AddressType == discoveryv1.AddressTypeIPv4)
		}
	}
	out := ready.list()
	if len(out) == 0 {
		out = serving.list()
	}
	slices.SortFunc(out, func(a, b discovery.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// picked holds one instance per endpoint: per pod when the endpoint names
// one, else per address. A dual-stack Service lists every pod once in an
// IPv4 slice and once in an IPv6 one; counting both would double every
// count and let an ejected pod keep half its traffic through its other
// address, so one is kept, IPv4 when there is a choice. The same endpoint
// also sits in two slices of one family while it moves between them.
type picked map[string]pickedInstance

type pickedInstance struct {
	inst discovery.Instance
	ipv4 bool
}

func (p picked) add(key string, inst discovery.Instance, ipv4 bool) {
	if old, ok := p[key]; ok && (old.ipv4 || !ipv4) {
		return
	}
	p[key] = pickedInstance{inst, ipv4}
}

func (p picked) list() []discovery.Instance {
	out := make([]discovery.Instance, 0, len(p))
	for _, pi := range p {
		out = append(out, pi.inst)
	}
	return out
}

func (r *Resolver) pickPort(ports []discoveryv1.EndpointPort) (int, bool) {
	for _, p := range ports {
		if p.Port == nil {
			continue
		}
		if r.port == "" || (p.Name != nil && *p.Name == r.port) {
			return int(*p.Port), true
		}
	}
	return 0, false
}

// attempts follows the HTTP attempts of one List or Watch call. client-go
// retries a GET whose connection was reset or closed ten times, a second
// apart, before the call returns (and a watch's then returns an empty
// watch, no error); a load balancer with no API server behind it closes
// every connection that way, so without looking at the attempts the
// failure went unreported for over a minute.
type attempts struct {
	fail func(error)

	mu       sync.Mutex
	dialErr  error // the current attempt's last failed dial, if it got no connection
	gotConn  bool  // the current attempt got a connection
	failed   bool  // an attempt failed to connect
	answered bool  // an attempt got an answer from the server
}

// trace returns ctx with a client trace that reports each attempt's
// connection failure to fail. A failed TLS handshake fails the attempt at
// once; a failed dial only when the attempt gets no connection at all (it
// is known at the next attempt, or when the call returns): a host name
// with an IPv6 and an IPv4 address may fail on one and connect on the
// other.
func (a *attempts) trace(ctx context.Context, fail func(error)) context.Context {
	a.fail = fail
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { a.next() },
		GotConn: func(httptrace.GotConnInfo) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.gotConn = true
		},
		ConnectDone: func(_, _ string, err error) {
			if err != nil {
				a.mu.Lock()
				defer a.mu.Unlock()
				a.dialErr = err
			}
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				a.mu.Lock()
				a.failed = true
				a.mu.Unlock()
				fail(err)
			}
		},
		GotFirstResponseByte: func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.answered = true
		},
	})
}

// next ends the current attempt (reporting a dial that got no
// connection) and starts another.
func (a *attempts) next() {
	a.mu.Lock()
	err := a.dialErr
	if a.gotConn {
		err = nil
	}
	a.dialErr, a.gotConn = nil, false
	if err != nil {
		a.failed = true
	}
	a.mu.Unlock()
	if err != nil {
		a.fail(err)
	}
}

// failedUnanswered ends the last attempt and reports whether an attempt
// failed and none got an answer: the call's success is client-go's empty
// watch.
func (a *attempts) failedUnanswered() bool {
	a.next()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed && !a.answered
}

func equal(a, b []discovery.Instance) bool {
	return slices.EqualFunc(a, b, func(x, y discovery.Instance) bool {
		return x.ID == y.ID && x.Addr == y.Addr && x.Meta["pod"] == y.Meta["pod"]
	})
}
