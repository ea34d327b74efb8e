package kube

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

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
	factory := informers.NewSharedInformerFactoryWithOptions(r.client, r.resync,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := factory.Discovery().V1().EndpointSlices()
	lister := inf.Lister().EndpointSlices(ns)

	// Events only signal "something changed"; the set is recomputed from the
	// lister, so a burst of events costs one delivery.
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { signal() },
		UpdateFunc: func(any, any) { signal() },
		DeleteFunc: func(any) { signal() },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return nil // ctx ended
	}
	var last []discovery.Instance
	first := true
	for {
		list, err := lister.List(labels.Everything())
		if err != nil {
			fn(discovery.Update{Instances: last, Err: err})
		} else if insts := r.instances(list); first || !equal(insts, last) {
			last, first = insts, false
			fn(discovery.Update{Instances: insts})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
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

func equal(a, b []discovery.Instance) bool {
	return slices.EqualFunc(a, b, func(x, y discovery.Instance) bool {
		return x.ID == y.ID && x.Addr == y.Addr && x.Meta["pod"] == y.Meta["pod"]
	})
}
