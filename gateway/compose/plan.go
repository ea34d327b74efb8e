package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/internal/jsonvalue"
	"github.com/gatescale/gatescale/internal/mediatype"
	"github.com/gatescale/gatescale/internal/routeseries"
)

// PartialHeader lists the optional calls left out of an answer.
const PartialHeader = "X-Gatescale-Partial"

// Plan is a compiled Composite: an http.Handler that runs the calls and
// writes the merged answer. Build it with New; it is safe for concurrent use.
type Plan struct {
	route      string
	calls      []*callPlan
	maxBytes   int64
	maxBody    int64 // the client's body, read for ForwardBody
	transports func(upstream string) http.RoundTripper
	metrics    *Metrics
	born       *routeseries.Birth // the metrics epoch at New: when the route table is built
	logger     *slog.Logger
	needBody   bool
}

type callPlan struct {
	Call
	index   int
	method  string
	path    template
	query   []kv
	headers []kv
	forEach *ref
	pick    []string
	deps    []int
	timeout time.Duration
}

type kv struct {
	key string
	val template
}

// Option configures New.
type Option func(*Plan)

// WithTransports gives the RoundTripper of each upstream: the gateway's
// proxy for it, so calls are balanced, retried and ejected like proxied
// requests. A call's request URL has the upstream's name as host.
func WithTransports(f func(upstream string) http.RoundTripper) Option {
	return func(p *Plan) { p.transports = f }
}

// WithMetrics records per-call durations and outcomes.
func WithMetrics(m *Metrics) Option { return func(p *Plan) { p.metrics = m } }

// WithLogger logs failed calls.
func WithLogger(l *slog.Logger) Option { return func(p *Plan) { p.logger = l } }

// New compiles c for the route named route whose path pattern is
// routePath. It refuses what Validate refuses.
func New(route, routePath string, c Composite, opts ...Option) (*Plan, error) {
	if errs := c.Validate(routePath, nil); len(errs) > 0 {
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, errors.Join(all...)
	}
	p := &Plan{route: route, maxBytes: c.MaxAnswerBytes, maxBody: c.MaxBodyBytes, logger: slog.Default()}
	if p.maxBytes == 0 {
		p.maxBytes = DefaultMaxAnswerBytes
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBodyBytes
	}
	for _, opt := range opts {
		opt(p)
	}
	if p.transports == nil {
		return nil, errors.New("compose: no transports (WithTransports)")
	}
	p.born = p.metrics.born()
	index := map[string]int{}
	for i, call := range c.Calls {
		index[call.Name] = i
	}
	for i, call := range c.Calls {
		cp := &callPlan{Call: call, index: i, method: strings.ToUpper(call.Method)}
		if cp.method == "" {
			cp.method = http.MethodGet
		}
		cp.path, _ = parseTemplate(call.Path)
		for _, k := range slices.Sorted(maps.Keys(call.Query)) {
			t, _ := parseTemplate(call.Query[k])
			cp.query = append(cp.query, kv{k, t})
		}
		for _, k := range slices.Sorted(maps.Keys(call.Headers)) {
			t, _ := parseTemplate(call.Headers[k])
			cp.headers = append(cp.headers, kv{http.CanonicalHeaderKey(k), t})
		}
		if call.ForEach != "" {
			r, _ := parseRef(call.ForEach)
			cp.forEach = &r
		}
		cp.pick, _ = parsePick(call.Pick)
		if call.Timeout != "" {
			cp.timeout, _ = time.ParseDuration(call.Timeout)
		}
		addDep := func(r ref) {
			if j, ok := index[r.source]; ok && j != i && !containsInt(cp.deps, j) {
				cp.deps = append(cp.deps, j)
			}
		}
		refs := cp.path.refs()
		for _, q := range cp.query {
			refs = append(refs, q.val.refs()...)
		}
		for _, h := range cp.headers {
			refs = append(refs, h.val.refs()...)
		}
		if cp.forEach != nil {
			refs = append(refs, *cp.forEach)
		}
		for _, r := range refs {
			addDep(r)
		}
		p.needBody = p.needBody || call.ForwardBody
		p.calls = append(p.calls, cp)
	}
	return p, nil
}

// result is one call's outcome.
type result struct {
	value   any // decoded JSON (picked), or []any for for_each
	err     *callError
	skipped bool // a dependency failed optionally
	done    chan struct{}
}

// callError says why a call failed, and what the client gets if it was
// required.
type callError struct {
	call    string
	status  int // 502 or 504
	outcome string
	detail  string
}

func (e *callError) Error() string { return e.detail }

// run holds one request's execution.
type run struct {
	p       *Plan
	r       *http.Request
	rctx    *chi.Context
	body    []byte
	results []*result
	cancel  context.CancelCauseFunc
	ctx     context.Context
	series  *routeseries.Route[struct{}] // nil: record nothing

	mu     sync.Mutex
	failed *callError // the first required failure
	// restrict gathers the calls' answers' no-store, private and no-cache:
	// the merged answer holds their data, so it is no more shareable.
	restrict atomic.Uint32
	vary     map[string]bool // the calls' answers' Vary names, under mu
}

// addVary gathers the client's request headers a call's answer depends on:
// the merged answer depends on them too. Accept and Accept-Encoding are the
// gateway's own on every call, never the client's.
func (rn *run) addVary(h http.Header) {
	vs := h.Values("Vary")
	if len(vs) == 0 {
		return
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, v := range vs {
		for name := range strings.SplitSeq(v, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if name == "" || name == "Accept" || name == "Accept-Encoding" {
				continue
			}
			if rn.vary == nil {
				rn.vary = map[string]bool{}
			}
			rn.vary[name] = true
		}
	}
}

// Cache-Control directives an answer passes on to the merged answer.
const (
	ccNoStore uint32 = 1 << iota
	ccPrivate
	ccNoCache
)

// restrictions reads the directives of a call's Cache-Control that limit
// who may keep or reuse an answer holding its data.
func restrictions(h http.Header) uint32 {
	var bits uint32
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				bits |= ccNoStore
			case "private":
				bits |= ccPrivate
			case "no-cache":
				bits |= ccNoCache
			}
		}
	}
	return bits
}

// cacheControl is the merged answer's Cache-Control for bits; "" when no
// call restricted its answer (the route's cache policy decides).
func cacheControl(bits uint32) string {
	var ds []string
	if bits&ccPrivate != 0 {
		ds = append(ds, "private")
	}
	if bits&ccNoCache != 0 {
		ds = append(ds, "no-cache")
	}
	if bits&ccNoStore != 0 {
		ds = append(ds, "no-store")
	}
	return strings.Join(ds, ", ")
}

// ServeHTTP runs the calls and writes the merged answer.
func (p *Plan) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	rn := &run{p: p, r: r, rctx: chi.RouteContext(r.Context()), ctx: ctx, cancel: cancel}
	if p.needBody && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
		if err == nil && int64(len(b)) > p.maxBody {
			err = fmt.Errorf("larger than the composite's max_body_bytes (%d bytes)", p.maxBody)
			status := http.StatusRequestEntityTooLarge
			problem.Write(w, problem.Details{Status: status, Route: p.route, Detail: "request body: " + err.Error(),
				RequestID: r.Header.Get("X-Request-Id")})
			return
		}
		if err != nil {
			var mb *http.MaxBytesError
			status := http.StatusBadRequest
			if errors.As(err, &mb) {
				status = http.StatusRequestEntityTooLarge
			}
			problem.Write(w, problem.Details{Status: status, Route: p.route, Detail: "request body: " + err.Error(),
				RequestID: r.Header.Get("X-Request-Id")})
			return
		}
		rn.body = b
	}
	rn.series = p.metrics.enter(p.route, p.born)
	defer p.metrics.exit(rn.series)
	rn.results = make([]*result, len(p.calls))
	for i := range p.calls {
		rn.results[i] = &result{done: make(chan struct{})}
	}
	// The last call runs on this goroutine, whose stack has already grown
	// to the depth of a proxied call: a fresh goroutine's stack is copied
	// bigger on the way down (5% of the CPU of a two-call route).
	var wg sync.WaitGroup
	last := len(p.calls) - 1
	for _, c := range p.calls[:last] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn.runCall(c)
		}()
	}
	rn.runCall(p.calls[last])
	wg.Wait()

	if f := rn.failed; f != nil {
		problem.Write(w, problem.Details{Status: f.status, Route: p.route, Call: f.call,
			Detail: f.detail, RequestID: r.Header.Get("X-Request-Id")})
		return
	}
	doc, partial := rn.merge()
	restrict := rn.restrict.Load()
	if len(partial) > 0 {
		doc["_partial"] = partial
		w.Header().Set(PartialHeader, strings.Join(partial, ", "))
		// A gap is not worth keeping: a cache (the route's, or one in
		// front of the gateway) would serve it after the call recovers.
		restrict |= ccNoStore
	}
	if cc := cacheControl(restrict); cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if len(rn.vary) > 0 {
		w.Header().Set("Vary", strings.Join(slices.Sorted(maps.Keys(rn.vary)), ", "))
	}
	body, err := jsonvalue.Append(make([]byte, 0, 512), doc, true)
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusInternalServerError, Route: p.route, Detail: "merging answers: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

// runCall waits for the call's dependencies, then makes it.
func (rn *run) runCall(c *callPlan) {
	res := rn.results[c.index]
	defer close(res.done)
	for _, d := range c.deps {
		dep := rn.results[d]
		select {
		case <-dep.done:
		case <-rn.ctx.Done():
			rn.notMade(c, res)
			return
		}
		if dep.err != nil || dep.skipped {
			// Only an optional dependency can fail without cancelling
			// everything: this call cannot be made, and is missing too.
			res.skipped = true
			if !c.Optional {
				rn.fail(&callError{call: c.Name, status: http.StatusBadGateway, outcome: "skipped",
					detail: fmt.Sprintf("call %s needs the answer of %s, which failed", c.Name, rn.p.calls[d].Name)})
			}
			rn.p.metrics.observe(rn.series, c.Name, "skipped", 0)
			return
		}
	}
	if rn.ctx.Err() != nil {
		rn.notMade(c, res)
		return
	}
	var v any
	var err *callError
	if c.forEach != nil {
		v, err = rn.forEach(c)
	} else {
		v, err = rn.call(rn.ctx, c, nil)
	}
	if err != nil {
		res.err = err
		if !c.Optional {
			rn.fail(err)
		} else {
			rn.p.logger.LogAttrs(rn.ctx, slog.LevelWarn, "optional composite call failed",
				slog.String("route", rn.p.route), slog.String("call", c.Name), slog.String("err", err.detail))
		}
		return
	}
	res.value = v
}

// notMade records a call not made because the request ended first (the
// route's deadline, the client leaving, or another call's failure). A
// required one fails the request unless something already has: the answer
// must not be a 200 that leaves it out.
func (rn *run) notMade(c *callPlan, res *result) {
	res.skipped = true
	rn.p.metrics.notMade(rn.series, c.Name, "cancelled")
	if c.Optional {
		return
	}
	status := http.StatusBadGateway
	if errors.Is(rn.ctx.Err(), context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	rn.fail(&callError{call: c.Name, status: status, outcome: "cancelled",
		detail: fmt.Sprintf("call %s was not made: %v", c.Name, context.Cause(rn.ctx))})
}

// fail records the first required failure and cancels the other calls.
func (rn *run) fail(e *callError) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.failed == nil {
		rn.failed = e
		rn.cancel(e)
	}
}

// forEach makes the call once per element of the array it names.
func (rn *run) forEach(c *callPlan) (any, *callError) {
	src := rn.results[rn.p.callIndex(c.forEach.source)]
	arr, ok := lookup(src.value, c.forEach.path)
	items, isArray := arr.([]any)
	if !ok || !isArray {
		return nil, &callError{call: c.Name, status: http.StatusBadGateway, outcome: "bad_input",
			detail: fmt.Sprintf("call %s: %s is not an array in the answer of %s", c.Name, c.ForEach, c.forEach.source)}
	}
	maxItems := c.MaxItems
	if maxItems == 0 {
		maxItems = DefaultMaxItems
	}
	if len(items) > maxItems {
		return nil, &callError{call: c.Name, status: http.StatusBadGateway, outcome: "too_many_items",
			detail: fmt.Sprintf("call %s: %s has %d items, more than max_items %d", c.Name, c.ForEach, len(items), maxItems)}
	}
	workers := c.Workers
	if workers == 0 {
		workers = DefaultItemWorkers
	}
	// The first failing item fails the call: the items in flight are
	// cancelled and the rest are not started, as a required call's failure
	// cancels the route's other calls.
	ictx, cancel := context.WithCancel(rn.ctx)
	defer cancel()
	out := make([]any, len(items))
	var first *callError
	var once sync.Once
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	started := 0
	for i, item := range items {
		select {
		case sem <- struct{}{}:
		case <-ictx.Done():
		}
		// A worker releases its slot after recording its failure, so a
		// failure is seen here before the next item starts.
		if ictx.Err() != nil {
			break
		}
		started++
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := rn.call(ictx, c, item)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			out[i] = v
		}()
	}
	wg.Wait() // the calls in flight end with the request, not after it
	if first != nil {
		return nil, first
	}
	if started < len(items) {
		// No item failed, so the request's end left the rest unstarted:
		// like a call not made (notMade), the route's deadline is a 504.
		if started == 0 {
			rn.p.metrics.notMade(rn.series, c.Name, "cancelled")
		}
		status := http.StatusBadGateway
		if errors.Is(rn.ctx.Err(), context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		return nil, &callError{call: c.Name, status: status, outcome: "cancelled",
			detail: fmt.Sprintf("call %s: %d of %d items were not made: %v", c.Name, len(items)-started, len(items), context.Cause(rn.ctx))}
	}
	return out, nil
}

func (p *Plan) callIndex(name string) int {
	for i, c := range p.calls {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// errTimeout is the cause of a call's own deadline.
var errTimeout = errors.New("call timed out")

// call makes one request of c (item is the for_each element, if any) and
// decodes its JSON answer.
func (rn *run) call(ctx context.Context, c *callPlan, item any) (v any, cerr *callError) {
	start := time.Now()
	outcome := "ok"
	defer func() {
		if cerr != nil {
			outcome = cerr.outcome
		}
		rn.p.metrics.observe(rn.series, c.Name, outcome, time.Since(start))
	}()
	fail := func(status int, outcome, format string, args ...any) *callError {
		return &callError{call: c.Name, status: status, outcome: outcome, detail: fmt.Sprintf("call "+c.Name+": "+format, args...)}
	}
	path, err := rn.renderPath(c.path, item)
	if err != nil {
		return nil, fail(http.StatusBadGateway, "bad_input", "path: %v", err)
	}
	u := &url.URL{Scheme: "http", Host: c.Upstream, RawPath: path}
	u.Path, _ = url.PathUnescape(path)
	if len(c.query) > 0 {
		q := url.Values{}
		for _, kv := range c.query {
			s, err := rn.render(kv.val, item)
			if err != nil {
				return nil, fail(http.StatusBadGateway, "bad_input", "query %s: %v", kv.key, err)
			}
			q.Set(kv.key, s)
		}
		u.RawQuery = q.Encode()
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errTimeout)
		defer cancel()
	}
	var body io.Reader
	if c.ForwardBody {
		body = bytes.NewReader(rn.body)
	}
	// The URL is built, not parsed: an empty target parses to nothing and
	// is replaced (parsing u.String() again cost 5% of a two-call route).
	req, err := http.NewRequestWithContext(ctx, c.method, "", body)
	if err != nil {
		return nil, fail(http.StatusBadGateway, "bad_input", "%v", err)
	}
	req.URL, req.Host = u, u.Host
	copyHeaders(req.Header, rn.r.Header, c.ForwardBody)
	// As for a proxied request: the client's address, and forwarding
	// headers from the client only if it is a trusted proxy.
	proxy.SetForwarded(rn.r, req.Header)
	for _, kv := range c.headers {
		s, err := rn.render(kv.val, item)
		if err != nil || strings.ContainsAny(s, "\r\n") {
			return nil, fail(http.StatusBadGateway, "bad_input", "header %s: not a header value", kv.key)
		}
		if s == "" {
			// {header.Authorization} of a client that sent none: no
			// header, not an empty (malformed) credential.
			req.Header.Del(kv.key)
			continue
		}
		req.Header.Set(kv.key, s)
	}
	rt := rn.p.transports(c.Upstream)
	if rt == nil {
		return nil, fail(http.StatusBadGateway, "error", "upstream %s is not configured", c.Upstream)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		if context.Cause(ctx) == errTimeout || errors.Is(err, context.DeadlineExceeded) {
			return nil, fail(http.StatusGatewayTimeout, "timeout", "upstream %s did not answer in time", c.Upstream)
		}
		if ctx.Err() != nil { // the request, or a sibling for_each item, failed
			return nil, fail(http.StatusBadGateway, "cancelled", "cancelled: %v", context.Cause(ctx))
		}
		// The client learns what kind of failure it was, as from a
		// proxied route; the error itself names instances' addresses,
		// which are for the log.
		rn.logNoAnswer(c, err)
		reason := "no answer"
		if pe := (*proxy.Error)(nil); errors.As(err, &pe) && pe.Result.Reason != "" {
			reason = pe.Result.Reason
		}
		return nil, fail(http.StatusBadGateway, "error", "upstream %s failed: %s", c.Upstream, reason)
	}
	defer resp.Body.Close()
	if bits := restrictions(resp.Header); bits != 0 {
		rn.restrict.Or(bits)
	}
	rn.addVary(resp.Header)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		return nil, fail(http.StatusBadGateway, "status", "upstream %s answered %d", c.Upstream, resp.StatusCode)
	}
	if c.method == http.MethodHead || resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	if ct := resp.Header.Get("Content-Type"); !mediatype.IsJSON(ct) {
		return nil, fail(http.StatusBadGateway, "not_json", "upstream %s answered %q, not JSON", c.Upstream, mediatype.Of(ct))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, rn.p.maxBytes+1))
	if err != nil {
		// The call's own timeout or the route's deadline, as for RoundTrip.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fail(http.StatusGatewayTimeout, "timeout", "upstream %s did not answer in time", c.Upstream)
		}
		rn.logNoAnswer(c, err)
		return nil, fail(http.StatusBadGateway, "error", "the answer of %s broke off", c.Upstream)
	}
	if int64(len(data)) > rn.p.maxBytes {
		return nil, fail(http.StatusBadGateway, "too_large", "the answer of %s is larger than %d bytes", c.Upstream, rn.p.maxBytes)
	}
	if v, err = jsonvalue.Decode(data); err != nil {
		return nil, fail(http.StatusBadGateway, "not_json", "the answer of %s is not valid JSON", c.Upstream)
	}
	if c.pick != nil {
		picked, ok := lookup(v, c.pick)
		if !ok {
			return nil, fail(http.StatusBadGateway, "bad_input", "the answer of %s has no %s", c.Upstream, c.Pick)
		}
		v = picked
	}
	return v, nil
}

// logNoAnswer logs why a call got no (whole) answer, with the details the
// client's problem leaves out.
func (rn *run) logNoAnswer(c *callPlan, err error) {
	rn.p.logger.LogAttrs(rn.ctx, slog.LevelWarn, "composite call got no answer",
		slog.String("route", rn.p.route), slog.String("call", c.Name), slog.String("upstream", c.Upstream), slog.String("err", err.Error()))
}

// render fills a query or header template's references (paths use
// renderPath).
func (rn *run) render(t template, item any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ref == nil {
			b.WriteString(p.literal)
			continue
		}
		s, err := rn.value(*p.ref, item)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// renderPath fills a path template, path-escaping its values so that an
// answer containing "../admin" stays within its segment. A value can still
// make a whole segment "." or "..", which the upstream's server resolves to
// another path (/customers/../admin is /admin to nginx, Go's ServeMux and
// most frameworks; escaping the dots does not help, as %2E is decoded
// before dot segments are removed), or empty (/customers/ is the
// collection, /customers//orders is /customers/orders to nginx): such a
// call is refused.
func (rn *run) renderPath(t template, item any) (string, error) {
	var b strings.Builder
	segStart, filled := 0, false // filled: a value is part of the segment
	var last *ref
	endSegment := func() error {
		if !filled {
			return nil
		}
		switch seg := b.String()[segStart:]; seg {
		case "":
			return fmt.Errorf("{%s} is empty: the path would have an empty segment", last)
		case ".", "..":
			return fmt.Errorf("{%s} makes the path segment %q", last, seg)
		}
		return nil
	}
	for _, p := range t.parts {
		if p.ref != nil {
			s, err := rn.value(*p.ref, item)
			if err != nil {
				return "", err
			}
			b.WriteString(url.PathEscape(s))
			filled, last = true, p.ref
			continue
		}
		lit := p.literal
		for {
			i := strings.IndexByte(lit, '/')
			if i < 0 {
				b.WriteString(lit)
				break
			}
			b.WriteString(lit[:i])
			if err := endSegment(); err != nil {
				return "", err
			}
			b.WriteByte('/')
			segStart, filled = b.Len(), false
			lit = lit[i+1:]
		}
	}
	if err := endSegment(); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (rn *run) value(r ref, item any) (string, error) {
	switch r.source {
	case srcQuery:
		return rn.r.URL.Query().Get(r.path[0]), nil
	case srcHeader:
		return rn.r.Header.Get(r.path[0]), nil
	case srcItem:
		v, ok := lookup(item, r.path)
		if s, scalar := scalarText(v); ok && scalar {
			return s, nil
		}
		return "", fmt.Errorf("{%s} is not a string, number or boolean in the item", r)
	}
	if i := rn.p.callIndex(r.source); i >= 0 {
		v, ok := lookup(rn.results[i].value, r.path)
		if s, scalar := scalarText(v); ok && scalar {
			return s, nil
		}
		return "", fmt.Errorf("{%s} is not a string, number or boolean in the answer of %s", r, r.source)
	}
	if rn.rctx != nil {
		v := rn.rctx.URLParam(r.source)
		// The router matches the escaped path when the client's path
		// needed its raw form kept (RawPath: %2F, lower-case hex...), and
		// the parameter is then still escaped; it is escaped again where
		// it is substituted.
		if rn.r.URL.RawPath != "" {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		return v, nil
	}
	return "", fmt.Errorf("{%s}: no path parameters", r)
}

// merge builds the answer from the calls' results in declaration order, and
// lists the optional calls left out.
func (rn *run) merge() (map[string]any, []string) {
	doc := map[string]any{}
	var partial []string
	for i, c := range rn.p.calls {
		res := rn.results[i]
		if res.err != nil || res.skipped {
			partial = append(partial, c.Name)
			continue
		}
		if c.Hidden {
			continue
		}
		switch obj, isObj := res.value.(map[string]any); {
		case c.Group != "":
			doc[c.Group] = res.value
		case isObj:
			for k, v := range obj {
				// _partial is the gateway's: a backend's member of that
				// name would say parts are missing from a complete answer.
				if _, taken := doc[k]; !taken && k != "_partial" {
					doc[k] = v
				}
			}
		default:
			doc[c.Name] = res.value
		}
	}
	return doc, partial
}

// copyHeaders sends the caller's end-to-end headers with a call — identity
// headers from authentication's forward, X-Request-Id, trace context —
// never hop-by-hop ones, nor framing that belongs to the client's body.
// notForwarded are the client's fields a call does not get: hop-by-hop
// fields, those the call's own request sets, and the conditions and
// ranges, which describe the composite answer (the gateway's own
// document), not any backend's — forwarded, a backend that honours them
// answers 304, 412 or 206, which the composite cannot merge.
var notForwarded = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true,
	"Accept-Encoding": true, "Expect": true,
	"If-None-Match": true, "If-Modified-Since": true, "If-Match": true, "If-Unmodified-Since": true, "If-Range": true, "Range": true,
	// The client's credentials are for the backend that checks them, not
	// for every upstream the route fans out to: a call that needs them
	// names them in its headers ({header.Authorization}).
	"Authorization": true, "Cookie": true}

func copyHeaders(dst, src http.Header, withBody bool) {
	connection := src["Connection"]
	for k, vs := range src {
		if notForwarded[k] || !withBody && (k == "Content-Type" || k == "Content-Encoding") || listedIn(connection, k) {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
	dst.Set("Accept", "application/json")
}

// listedIn reports whether the Connection field values name key (a
// canonical key; the names are compared without case).
func listedIn(connection []string, key string) bool {
	for _, f := range connection {
		for name := range strings.SplitSeq(f, ",") {
			if strings.EqualFold(strings.TrimSpace(name), key) {
				return true
			}
		}
	}
	return false
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
