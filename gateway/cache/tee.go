package cache

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/internal/interim"
	"github.com/gatescale/gatescale/internal/mediatype"
)

// tee is the ResponseWriter a fetch runs next with. It streams the answer
// to the client (if there is one: a background refresh has none) while it
// keeps a copy for the store, as long as the answer can be stored.
type tee struct {
	c      *Cache
	w      http.ResponseWriter // nil for a background refresh
	r      *http.Request       // the client's request: Vary values, validators, context
	k      *reqKey
	stale  *object            // served instead of a 5xx, if set
	cancel context.CancelFunc // ends the upstream call
	unlink func() bool
	fence  uint64 // when the fetch began (Store.fences)
	// onUnshare, if set, is called once the answer turns out not to be
	// storable: a leader releases its waiters then, rather than when the
	// answer ends (a stream may not end while its client stays).
	onUnshare func()

	header      http.Header
	wroteHeader bool
	status      int
	suppressed  bool // the upstream failed and stale is served instead
	notModified bool // the client gets 304 and no body
	clientErr   error

	obj  *object // what will be stored; nil once it cannot be
	vary []string
	body []byte
	// reserved is what body holds of the store's budget for answers
	// being fetched (Store.reserve).
	reserved int64
	// uncacheable: the answer itself cannot be stored (as opposed to a
	// failure), so the key is marked hit-for-miss.
	uncacheable bool
}

// newTee returns the writer of a fetch that began in fence: the caller
// took it from Store.fences.begin before calling the upstream.
func (c *Cache) newTee(w http.ResponseWriter, r *http.Request, k *reqKey, stale *object, cancel context.CancelFunc, fence uint64) *tee {
	return &tee{c: c, w: w, r: r, k: k, stale: stale, cancel: cancel, fence: fence, header: http.Header{}}
}

// Header is the answer's own header until it is sent, then the client's,
// so that trailers set after WriteHeader reach the client.
func (t *tee) Header() http.Header {
	if t.wroteHeader && t.w != nil && !t.suppressed {
		return t.w.Header()
	}
	return t.header
}

func (t *tee) WriteHeader(code int) {
	if t.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// 103 Early Hints and the like: pass on, the final answer follows.
		if t.w != nil {
			interim.Write(t.w, code, t.header)
		}
		return
	}
	t.wroteHeader, t.status = true, code
	if t.stale != nil && code >= 500 {
		t.suppressed = true
		return
	}
	t.obj, t.vary = t.c.plan(t.k, t.r, code, t.header, t.c.store.now())
	if t.obj == nil {
		t.uncacheable = code < 500
		t.unshare()
	}
	if t.w == nil {
		return
	}
	h := t.w.Header()
	copyInto(h, t.header)
	h.Set(HeaderXCache, Miss)
	if notModified(t.r, code, t.header.Get("ETag"), t.header.Get("Last-Modified")) {
		t.notModified = true
		h.Del("Content-Length")
		t.w.WriteHeader(http.StatusNotModified)
		return
	}
	t.w.WriteHeader(code)
}

// copyInto sets dst's fields to src's, keeping dst's other fields (those
// outer middleware set, such as X-Request-Id).
func copyInto(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = vs
	}
}

func (t *tee) Write(b []byte) (int, error) {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if t.suppressed {
		return len(b), nil
	}
	if t.obj != nil {
		switch {
		case int64(len(t.body)+len(b)) > t.c.maxObj:
			t.obj, t.body, t.uncacheable = nil, nil, true
			t.release()
			t.unshare()
		case !t.c.store.reserve(int64(len(b))):
			// Too many answers are being fetched into memory at once:
			// this one streams through unstored. Not hit-for-miss, since
			// it fits once the others are done.
			t.obj, t.body = nil, nil
			t.release()
			t.unshare()
		default:
			t.reserved += int64(len(b))
			t.body = append(t.body, b...)
		}
	}
	if t.w == nil || t.notModified {
		return len(b), nil
	}
	if t.clientErr == nil {
		n, err := t.w.Write(b)
		if err == nil {
			return n, nil
		}
		t.clientErr = err
	}
	if t.obj != nil {
		return len(b), nil // the client is gone, but the store still wants the rest
	}
	return 0, t.clientErr
}

// release gives back the budget the buffered body held. The callers of
// newTee defer it, so that a fetch that ends in a panic gives it back too.
func (t *tee) release() {
	t.c.store.pending.Add(-t.reserved)
	t.reserved = 0
}

// unshare is called once the answer turns out not to be storable: from
// then on nobody but this request's client needs it, so the upstream call
// ends when that client goes away (at once for a background refresh).
func (t *tee) unshare() {
	if t.uncacheable {
		t.c.store.markMiss(t.k.primary, t.k, t.c.store.now().Add(hitForMiss))
	}
	if t.onUnshare != nil {
		t.onUnshare()
		t.onUnshare = nil
	}
	if t.w == nil {
		t.cancel()
		return
	}
	if t.unlink == nil {
		t.unlink = context.AfterFunc(t.r.Context(), t.cancel)
	}
}

func (t *tee) Flush() { _ = t.FlushError() }

// FlushError keeps streamed answers streaming. Like Write, it hides a gone
// client's error while the answer is still being stored.
func (t *tee) FlushError() error {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if t.w == nil || t.suppressed || t.notModified || t.clientErr != nil {
		if t.obj == nil && t.clientErr != nil {
			return t.clientErr
		}
		return nil
	}
	err := http.NewResponseController(t.w).Flush()
	if err == nil || errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	t.clientErr = err
	if t.obj != nil {
		return nil
	}
	return err
}

// Unwrap lets http.ResponseController reach the client's writer.
func (t *tee) Unwrap() http.ResponseWriter { return t.w }

// finish is called when next has returned. It stores the answer if it
// can, and returns it if other requests may be given it, and whether the
// upstream failed.
func (t *tee) finish() (shared *object, failed bool) {
	if t.unlink != nil {
		t.unlink()
	}
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK) // what net/http sends for a handler that writes nothing
	}
	failed = t.suppressed || t.status >= 500
	if t.obj == nil {
		return nil, failed // unshare marked the key hit-for-miss if need be
	}
	o := t.obj
	o.body = t.body
	if t.r.Method == http.MethodGet {
		o.header.Set("Content-Length", strconv.Itoa(len(o.body)))
	}
	o.computeWeight()
	stored := t.c.store.put(t.k.primary, t.k, t.vary, o, t.fence)
	t.release() // stored, the body counts against max_bytes instead
	if !stored {
		// Not stored (invalidated meanwhile, or the store is closed): not
		// to be given to waiters, who may have come after the change.
		return nil, failed
	}
	return o, failed
}

// cacheableStatus lists the statuses that may be stored: those RFC 9110
// §15.1 calls heuristically cacheable. 206 is not (ranges pass through).
func cacheableStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// hopByHop are the fields that describe one connection, not the answer.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// plan decides, when the answer's header is known, whether it can be
// stored and for how long. It returns the object to fill in, or nil.
func (c *Cache) plan(k *reqKey, r *http.Request, status int, h http.Header, now time.Time) (*object, []string) {
	if !cacheableStatus(status) {
		return nil, nil
	}
	cc := ParseCacheControl(h.Values("Cache-Control"))
	if cc.NoStore || cc.Private || cc.NoCache {
		return nil, nil // no-cache would need revalidation on every use: not worth a copy
	}
	if len(h.Values("Set-Cookie")) > 0 && !c.policy.AllowSetCookie {
		return nil, nil
	}
	if k.authz && !cc.Public && !cc.HasSMaxAge && !cc.MustRevalidate {
		return nil, nil // RFC 9111 §3.5
	}
	if mediatype.Of(h.Get("Content-Type")) == "text/event-stream" {
		// A stream that lasts as long as its client: storing it would hold
		// the waiters and the upstream call until it ends.
		return nil, nil
	}
	vary, star := canonicalNames(h.Values("Vary"))
	if star || h.Get("Content-Range") != "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n > c.maxObj && r.Method != http.MethodHead {
		return nil, nil
	}

	p := c.policy
	var lifetime time.Duration
	switch {
	case p.TTL > 0:
		lifetime = p.TTL.Std()
	case cc.HasSMaxAge:
		lifetime = cc.SMaxAge
	case cc.HasMaxAge:
		lifetime = cc.MaxAge
	case h.Get("Expires") != "":
		// An invalid Expires means "already expired" (RFC 9111 §5.3).
		if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
			date := now
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				date = d
			}
			lifetime = max(exp.Sub(date), 0)
		}
	default:
		lifetime = p.DefaultTTL.Std()
	}
	// must-revalidate and proxy-revalidate forbid serving stale; s-maxage
	// implies proxy-revalidate (RFC 9111 §5.2.2.10) unless the answer
	// itself allows stale serving or the route overrides its lifetime.
	hard := cc.MustRevalidate || cc.ProxyRevalidate
	implied := cc.HasSMaxAge && p.TTL == 0
	var swr, sie time.Duration
	if !hard {
		switch {
		case cc.HasStaleWhileRevalidate:
			swr = cc.StaleWhileRevalidate
		case !implied:
			swr = p.StaleWhileRevalidate.Std()
		}
		switch {
		case cc.HasStaleIfError:
			sie = cc.StaleIfError
		case !implied:
			sie = p.StaleIfError.Std()
		}
	}
	if lifetime <= 0 && swr <= 0 && sie <= 0 {
		return nil, nil
	}

	hdr := h.Clone()
	for _, line := range hdr.Values("Connection") {
		for name := range strings.SplitSeq(line, ",") {
			hdr.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopByHop {
		hdr.Del(name)
	}
	hdr.Del("Age")
	hdr.Del(HeaderXCache)
	hdr.Del("Set-Cookie") // only allowed answers get here: the cookie goes to this client only
	values := make([]string, len(vary))
	for i, name := range vary {
		values[i] = headerValue(r.Header, name)
	}
	coding := strings.Join(h.Values("Content-Encoding"), ",")
	if !acceptsCodings(r.Header.Values("Accept-Encoding"), coding) {
		// Encoded although this request did not accept it: the upstream
		// does not negotiate, and gives every client these bytes.
		coding = ""
	}
	return &object{
		status:       status,
		header:       hdr,
		varyValues:   values,
		variant:      variantOf(r),
		stored:       now.Add(-parseDelta(h.Get("Age"))),
		lifetime:     lifetime,
		swr:          swr,
		sie:          sie,
		noStale:      hard,
		etag:         h.Get("ETag"),
		lastModified: h.Get("Last-Modified"),
		coding:       coding,
	}, vary
}
