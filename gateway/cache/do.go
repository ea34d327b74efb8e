package cache

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/problem"
)

// Response is an answer computed in Go, as Do stores and returns it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do is the cache for handlers that compute their answers in Go, such as
// composite routes: it answers r from the store when it can, and otherwise
// calls fetch, once for all concurrent callers with the same key, storing
// the answer if its status and headers allow (the same rules as
// Middleware). fetch gets a context that the caller's cancellation does
// not end while other callers wait for it.
//
// The returned Response carries Age and X-Cache; its Header is the
// caller's, its Body is shared with the store and must not be modified.
// err is fetch's error (unless a stale answer could be served instead), or
// the request context's error when the caller left while waiting.
func (c *Cache) Do(r *http.Request, fetch func(ctx context.Context) (*Response, error)) (*Response, error) {
	k, ok := c.key(r)
	if !ok {
		c.store.metrics.count(outcome.Route(r), ResultBypass)
		if c.onlyIfCached(r) {
			return unavailableResponse(""), nil
		}
		return fetch(r.Context())
	}
	now := c.store.now()
	n := c.store.get(k.primary)
	o := n.match(r)
	var stale *object
	switch c.state(o, k, now) {
	case fresh:
		c.store.metrics.count(k.route, ResultHit)
		return o.response(Hit, now), nil
	case revalidate:
		c.store.metrics.count(k.route, ResultStale)
		if k.cc.OnlyIfCached { // this request must not cause a fetch
			return o.response(Stale, now), nil
		}
		c.refresh(r, k, flightKey(k, n, r), o, func(rr *http.Request, t *tee) {
			resp, err := fetch(rr.Context())
			if err != nil {
				t.WriteHeader(http.StatusBadGateway)
				return
			}
			t.replay(resp)
		})
		return o.response(Stale, now), nil
	case staleIfError:
		stale = o
	}
	if k.cc.OnlyIfCached {
		c.store.metrics.count(k.route, ResultMiss)
		return unavailableResponse(Miss), nil
	}
	if n != nil && n.missUntil.After(now) {
		return c.fetchDo(r.Context(), r, k, stale, fetch, nil, "")
	}
	fk := flightKey(k, n, r)
	f, leader, got := c.join(fk, k, r, o)
	if got != nil {
		c.store.metrics.count(k.route, ResultCoalesced)
		return got.response(Hit, c.store.now()), nil
	}
	if leader {
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		// The fetch outlives the caller only while others wait for it.
		defer context.AfterFunc(r.Context(), func() { c.store.flights.leaderLeft(f, cancel) })()
		return c.fetchDo(ctx, r, k, stale, fetch, f, fk)
	}
	timer := time.NewTimer(c.coalesceTimeout - time.Since(f.started))
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		// The shared fetch takes too long (it may hang): fetch alone.
		c.store.flights.leave(f)
		return c.fetchDo(r.Context(), r, k, stale, fetch, nil, "")
	case <-r.Context().Done():
		c.store.flights.leave(f)
		c.store.metrics.count(k.route, ResultCoalesced)
		return nil, r.Context().Err()
	}
	switch {
	case f.obj != nil && f.obj.serves(f.vary, r):
		c.store.metrics.count(k.route, ResultCoalesced)
		return f.obj.response(Hit, c.store.now()), nil
	case f.failed && stale != nil:
		c.store.metrics.count(k.route, ResultStale)
		return stale.response(Stale, c.store.now()), nil
	}
	return c.fetchDo(r.Context(), r, k, stale, fetch, nil, "")
}

// fetchDo calls fetch and stores its answer; with a flight, it publishes
// the answer to the flight's waiters, even if fetch panics.
func (c *Cache) fetchDo(ctx context.Context, r *http.Request, k *reqKey, stale *object,
	fetch func(context.Context) (*Response, error), f *flight, fk string) (*Response, error) {
	if f == nil {
		return c.fetchOnce(ctx, r, k, stale, fetch, nil)
	}
	returned := false
	defer func() {
		if !returned {
			f.obj, f.failed = nil, true
		}
		c.store.flights.finish(fk, f)
	}()
	resp, err := c.fetchOnce(ctx, r, k, stale, fetch, f)
	returned = true
	return resp, err
}

func (c *Cache) fetchOnce(ctx context.Context, r *http.Request, k *reqKey, stale *object,
	fetch func(context.Context) (*Response, error), f *flight) (*Response, error) {
	fence := c.store.fences.begin()
	defer c.store.fences.end(fence)
	resp, err := fetch(ctx)
	if err != nil || resp == nil {
		if f != nil {
			f.failed = true
		}
		if stale != nil {
			c.store.metrics.count(k.route, ResultStale)
			return stale.response(Stale, c.store.now()), nil
		}
		c.store.metrics.count(k.route, ResultMiss)
		if err == nil {
			err = errNilResponse
		}
		return nil, err
	}
	t := c.newTee(nil, r, k, stale, func() {}, fence)
	defer t.release()
	t.replay(resp)
	obj, failed := t.finish()
	if f != nil {
		f.obj, f.failed = obj, failed
		if obj != nil {
			f.vary = t.vary
		}
	}
	if t.suppressed {
		c.store.metrics.count(k.route, ResultStale)
		return stale.response(Stale, c.store.now()), nil
	}
	c.store.metrics.count(k.route, ResultMiss)
	out := &Response{Status: resp.Status, Header: resp.Header.Clone(), Body: resp.Body}
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set(HeaderXCache, Miss)
	return out, nil
}

// unavailableResponse is Do's answer to only-if-cached when the store has
// none the request accepts: 504, as Middleware answers.
func unavailableResponse(xcache string) *Response {
	d := problem.Details{Title: http.StatusText(http.StatusGatewayTimeout), Status: http.StatusGatewayTimeout,
		Detail: "only-if-cached: no stored answer satisfies the request"}
	body, _ := json.Marshal(d) // cannot fail for this struct
	h := http.Header{"Content-Type": {problem.ContentType}, "Cache-Control": {"no-store"}}
	if xcache != "" {
		h.Set(HeaderXCache, xcache)
	}
	return &Response{Status: d.Status, Header: h, Body: append(body, '\n')}
}

var errNilResponse = errors.New("cache: fetch returned neither a response nor an error")

// replay writes a computed answer into the tee.
func (t *tee) replay(resp *Response) {
	copyInto(t.header, resp.Header)
	t.WriteHeader(resp.Status)
	if len(resp.Body) > 0 {
		_, _ = t.Write(resp.Body)
	}
}

func (o *object) response(result string, now time.Time) *Response {
	h := make(http.Header, len(o.header)+2)
	copyHeader(h, o.header)
	h.Set("Age", strconv.FormatInt(int64(o.age(now)/time.Second), 10))
	h.Set(HeaderXCache, result)
	return &Response{Status: o.status, Header: h, Body: o.body}
}
