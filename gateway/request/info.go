package request

import (
	"context"
	"sync"
)

// Info records how the gateway handled one request. The route table puts a
// fresh Info in the request context before the route's middleware runs; the
// proxy fills in the upstream fields as it goes, and outer middleware
// (metrics, access log) read them after the inner handler returns.
//
// The upstream fields sit behind a mutex: a composite route calls several
// upstreams at once for one request, and each call writes here.
type Info struct {
	// Route is the name of the matched route (bounded: never the raw path).
	// It is set before the route's middleware runs and never changed.
	Route string

	client    Client // set at the table's entry, then only read
	hasClient bool
	// lasting: served by a handler built once, not with each route table
	// (SetOutlivesTables); set before the request is served, then only read.
	lasting bool

	mu        sync.Mutex
	requestID string
	upstream  string
	instance  string
	attempts  int
	err       string
}

// InfoState is a copy of Info's mutable fields at one moment.
type InfoState struct {
	// Upstream is the name of the upstream service the request went to.
	Upstream string
	// Instance is the address of the instance that served the final attempt.
	Instance string
	// Attempts is how many upstream attempts were made (retries + 1), summed
	// over every upstream call of the request.
	Attempts int
	// Error is a short reason when the gateway itself answered with an error
	// (e.g. "no healthy instances", "upstream timeout").
	Error string
}

// NewInfo returns the record of a request served outside a Table (a Table
// makes its own): name is its route label, client who sent it (see
// ResolveClient and ClientOf).
func NewInfo(name, upstream string, client Client) *Info {
	return &Info{Route: name, upstream: upstream, client: client, hasClient: true}
}

// SetOutlivesTables marks the request as served by a handler built once,
// not with each route table (gateway.Gateway.Proxy): its route label is a
// name still served whatever routes a reload removed, so the recorders that
// drop a removed route's series (metrics, authentication, authorization,
// rate limits) count it, where a request of an old table that had a route
// of that name records nothing. Call it before the request is served.
func (i *Info) SetOutlivesTables() { i.lasting = true }

// OutlivesTables reports whether SetOutlivesTables marked the request; false
// for a nil Info.
func (i *Info) OutlivesTables() bool { return i != nil && i.lasting }

// State returns a copy of the mutable fields.
func (i *Info) State() InfoState {
	i.mu.Lock()
	defer i.mu.Unlock()
	return InfoState{Upstream: i.upstream, Instance: i.instance, Attempts: i.attempts, Error: i.err}
}

// Client returns who sent the request, as decided when the Info was made;
// ok is false for an Info made without one (a literal &Info{}).
func (i *Info) Client() (c Client, ok bool) { return i.client, i.hasClient }

// SetRequestID records the request's id (package requestid keeps it here
// when there is an Info, rather than in a copy of the request).
func (i *Info) SetRequestID(id string) {
	i.mu.Lock()
	i.requestID = id
	i.mu.Unlock()
}

// RequestID returns the id SetRequestID recorded, or "".
func (i *Info) RequestID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.requestID
}

// SetUpstream records the upstream the request goes to (e.g. a variant's).
func (i *Info) SetUpstream(name string) {
	i.mu.Lock()
	i.upstream = name
	i.mu.Unlock()
}

// SetInstance records the instance of the latest final attempt.
func (i *Info) SetInstance(addr string) {
	i.mu.Lock()
	i.instance = addr
	i.mu.Unlock()
}

// AddAttempts adds n upstream attempts.
func (i *Info) AddAttempts(n int) {
	i.mu.Lock()
	i.attempts += n
	i.mu.Unlock()
}

// SetError records why the gateway answered with an error; the latest
// reason wins.
func (i *Info) SetError(reason string) {
	i.mu.Lock()
	i.err = reason
	i.mu.Unlock()
}

type infoKey struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the Info in ctx, or nil if the request was not routed by
// a Table.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// EntryContext returns ctx carrying a new Info for client (as NewInfo, the
// route name still to be set) and, when key is not nil, val under key: what
// a route table adds to every request's context, in one allocation instead
// of three (the Info and two context values).
func EntryContext(ctx context.Context, client Client, key, val any) (context.Context, *Info) {
	c := &entryCtx{Context: ctx, key: key, val: val}
	c.info.client, c.info.hasClient = client, true
	return c, &c.info
}

// entryCtx is a context node holding the request's Info and one more value.
type entryCtx struct {
	context.Context
	info     Info
	key, val any
}

func (c *entryCtx) Value(k any) any {
	if k == any(infoKey{}) {
		return &c.info
	}
	if c.key != nil && k == c.key {
		return c.val
	}
	return c.Context.Value(k)
}
