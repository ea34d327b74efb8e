package transform

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/interim"
	"github.com/gatescale/gatescale/internal/mediatype"
	"github.com/gatescale/gatescale/internal/vary"
)

// Transformer applies one route's Rules. It is safe for concurrent use.
type Transformer struct {
	header, query string
	ua            []uaRule
	def           string
	types         map[string]*shape // by lower-case name; nil shape: untouched
	names         map[string]string // lower-case name → declared name
	maxBody       int64
	vary          []string // request headers the choice of client type reads
}

type uaRule struct {
	clientType string
	contains   []string // lower case
	re         *regexp.Regexp
}

// New compiles r. It fails with *FieldError values if r is not valid.
func New(r Rules) (*Transformer, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	t := &Transformer{
		header:  r.Header,
		query:   r.Query,
		types:   map[string]*shape{},
		names:   map[string]string{},
		maxBody: int64(r.MaxBodySize),
	}
	if t.maxBody == 0 {
		t.maxBody = DefaultMaxBodySize
	}
	for _, ct := range r.ClientTypes {
		key := strings.ToLower(ct.Name)
		t.types[key] = compile(ct)
		t.names[key] = ct.Name
	}
	t.def = strings.ToLower(r.Default)
	for _, u := range r.UserAgent {
		rule := uaRule{clientType: strings.ToLower(u.ClientType)}
		for _, c := range u.Contains {
			rule.contains = append(rule.contains, strings.ToLower(c))
		}
		if u.Regexp != "" {
			rule.re = regexp.MustCompile(u.Regexp) // Validate compiled it
		}
		t.ua = append(t.ua, rule)
	}
	if t.header != "" {
		t.vary = append(t.vary, http.CanonicalHeaderKey(t.header))
	}
	if len(t.ua) > 0 {
		t.vary = append(t.vary, "User-Agent")
	}
	return t, nil
}

// ClientType returns the declared name of r's client type, or "" if
// nothing classified it and there is no default.
func (t *Transformer) ClientType(r *http.Request) string {
	return t.names[t.clientType(r)]
}

func (t *Transformer) clientType(r *http.Request) string {
	if t.header != "" {
		if v := strings.ToLower(strings.TrimSpace(r.Header.Get(t.header))); t.declared(v) {
			return v
		}
	}
	if t.query != "" {
		if v := strings.ToLower(r.URL.Query().Get(t.query)); t.declared(v) {
			return v
		}
	}
	if len(t.ua) > 0 {
		ua := r.Header.Get("User-Agent")
		lower := strings.ToLower(ua)
		for _, rule := range t.ua {
			if rule.matches(ua, lower) {
				return rule.clientType
			}
		}
	}
	return t.def
}

func (t *Transformer) declared(name string) bool {
	_, ok := t.types[name]
	return ok && name != ""
}

func (u *uaRule) matches(ua, lower string) bool {
	for _, c := range u.contains {
		if strings.Contains(lower, c) {
			return true
		}
	}
	return u.re != nil && u.re.MatchString(ua)
}

// ErrTooLarge is Apply's error for a body over Rules.MaxBodySize.
var ErrTooLarge = errors.New("transform: the answer is larger than max_body_size")

// Apply transforms a JSON document for the named client type (as
// ClientType returns it; "" or a type with no steps returns body as it
// is). It is what Middleware does to an answer, for handlers that build
// their answers in Go. The error is ErrTooLarge or a JSON syntax error.
func (t *Transformer) Apply(clientType string, body []byte) ([]byte, error) {
	s := t.types[strings.ToLower(clientType)]
	if s == nil {
		return body, nil
	}
	if int64(len(body)) > t.maxBody {
		return nil, ErrTooLarge
	}
	return s.transformJSON(body)
}

// Middleware transforms next's successful JSON answers (2xx but 204 and
// 206, Content-Type application/json or */*+json) for the request's client
// type. Everything else streams through untouched. Requests of a client
// type with steps ask the upstream for an unencoded, whole answer
// (Accept-Encoding: identity, no Range). A transformed answer gets a new
// Content-Length, loses ETag and other digests of the upstream's bytes,
// and says Vary on the headers the client type was chosen by. An answer
// over Rules.MaxBodySize, encoded all the same, or not valid JSON becomes a
// 502 problem: passing it through would hand the client the fields its
// type must not see. A HEAD gets the header its GET would get.
func (t *Transformer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &shapeWriter{w: w, t: t, shape: t.types[t.clientType(r)], header: http.Header{}, head: r.Method == http.MethodHead}
		if sw.shape != nil {
			// An encoded answer cannot be shaped: ask for the plain one.
			// (Compressor, outside, encodes the result for the client.)
			r = r.Clone(r.Context())
			r.Header.Set("Accept-Encoding", "identity")
			// Nor can a part of one, and a 206 passes through as it is:
			// a Range would hand over the fields the steps remove.
			r.Header.Del("Range")
			r.Header.Del("If-Range")
			sw.tagged = taggedCondition(r.Header)
		}
		next.ServeHTTP(sw, r)
		if sw.mode == retrying {
			// The 304 was earned by a tag of the upstream's bytes (see
			// WriteHeader): ask again without it. Behind the cache this is
			// a hit; If-Modified-Since, which the shaped answer keeps the
			// upstream's date for, still applies.
			r.Header.Del("If-None-Match")
			sw = &shapeWriter{w: w, t: t, shape: sw.shape, header: http.Header{}, head: sw.head}
			next.ServeHTTP(sw, r)
		}
		sw.finish(r)
	})
}

// Modes of a shapeWriter.
const (
	undecided = iota
	passing   // writes go straight to the client
	buffering // the JSON answer is collected for transformation
	refused   // over the bound or encoded: discarded, a 502 follows
	retrying  // a 304 the shaped document did not earn: discarded, asked again
)

const errOversize = "the upstream's answer is larger than the route's transform bound"

type shapeWriter struct {
	w      http.ResponseWriter
	t      *Transformer
	shape  *shape
	header http.Header
	mode   int
	reason string // why a refused answer was refused
	status int
	buf    []byte
	// head: the answer to a HEAD, which gets the header a GET's
	// transformed answer would have (RFC 9110 §9.3.2), without the fields
	// only the transformed body could tell.
	head bool
	// tagged: the request's If-None-Match names entity tags (not just
	// "*"), which can only be the upstream's or another type's.
	tagged bool
}

// Header is the answer's own header until it is passed on, then the
// client's (so trailers reach it).
func (sw *shapeWriter) Header() http.Header {
	if sw.mode == passing {
		return sw.w.Header()
	}
	return sw.header
}

func (sw *shapeWriter) WriteHeader(code int) {
	if sw.mode != undecided {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		interim.Write(sw.w, code, sw.header)
		return
	}
	sw.status = code
	h := sw.header
	if code == http.StatusNotModified {
		// A 304 carries what its 200 would (RFC 9110 §15.4.5). Only a
		// JSON answer is shaped and varies by client type (a 304 from the
		// cache has the stored Content-Type; one from the upstream may
		// have none, and is taken as JSON): its 304 says the Vary and, for
		// a shaped type, has none of the upstream's validators or digests
		// the shaped 200 loses.
		ct := h.Get("Content-Type")
		isJSON := ct == "" || mediatype.IsJSON(ct)
		if isJSON && sw.shape != nil && sw.tagged {
			// A shaped document has no entity tag (see upstreamBytes): the
			// tag that matched validates the upstream's bytes, not what
			// this client got, and must not earn it a 304.
			sw.mode = retrying
			return
		}
		if isJSON {
			for _, name := range sw.t.vary {
				vary.Add(h, name)
			}
			if sw.shape != nil {
				for _, name := range upstreamBytes {
					h.Del(name)
				}
			}
		}
		sw.pass()
		return
	}
	if !transformable(code, h) {
		sw.pass()
		return
	}
	for _, name := range sw.t.vary {
		vary.Add(h, name)
	}
	if sw.shape == nil {
		sw.pass()
		return
	}
	if encoded(h) {
		// Encoded although the request said identity: it cannot be
		// shaped, and passing it would skip the client type's steps.
		sw.mode, sw.reason = refused, "the upstream's answer is encoded ("+h.Get("Content-Encoding")+")"
		return
	}
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n > sw.t.maxBody {
		sw.mode, sw.reason = refused, errOversize
		return
	}
	if sw.head {
		for _, name := range upstreamBytes {
			h.Del(name)
		}
		sw.pass()
		return
	}
	sw.mode = buffering
}

// taggedCondition reports whether h's If-None-Match names an entity tag;
// "*" (any current representation) is as true of a shaped document.
func taggedCondition(h http.Header) bool {
	for _, line := range h.Values("If-None-Match") {
		for tag := range strings.SplitSeq(line, ",") {
			if t := strings.TrimSpace(tag); t != "" && t != "*" {
				return true
			}
		}
	}
	return false
}

// upstreamBytes are the fields that describe the upstream's bytes: a
// transformed answer loses them (its validators and digests would be the
// upstream's, not of what the client gets).
var upstreamBytes = []string{"Content-Length", "ETag", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest", "Accept-Ranges"}

func (sw *shapeWriter) pass() {
	sw.mode = passing
	copyInto(sw.w.Header(), sw.header)
	sw.w.WriteHeader(sw.status)
}

func transformable(code int, h http.Header) bool {
	if code < 200 || code > 299 || code == http.StatusNoContent || code == http.StatusPartialContent {
		return false
	}
	return mediatype.IsJSON(h.Get("Content-Type"))
}

func encoded(h http.Header) bool {
	ce := h.Get("Content-Encoding")
	return ce != "" && !strings.EqualFold(ce, "identity")
}

func (sw *shapeWriter) Write(b []byte) (int, error) {
	if sw.mode == undecided {
		sw.WriteHeader(http.StatusOK)
	}
	switch sw.mode {
	case passing:
		return sw.w.Write(b)
	case buffering:
		if int64(len(sw.buf)+len(b)) > sw.t.maxBody {
			sw.mode, sw.reason, sw.buf = refused, errOversize, nil
		} else {
			sw.buf = append(sw.buf, b...)
		}
	}
	return len(b), nil // the rest of a refused answer is drained and dropped
}

// Flush passes through when streaming; a buffered answer is sent whole at
// the end.
func (sw *shapeWriter) Flush() {
	if sw.mode == passing {
		_ = http.NewResponseController(sw.w).Flush()
	}
}

// Unwrap lets http.ResponseController reach the client's writer.
func (sw *shapeWriter) Unwrap() http.ResponseWriter { return sw.w }

func (sw *shapeWriter) finish(r *http.Request) {
	switch sw.mode {
	case undecided:
		// next wrote nothing: net/http sends 200 with no body, which is
		// not a JSON document to transform.
		copyInto(sw.w.Header(), sw.header)
	case buffering:
		out, err := sw.shape.transformJSON(sw.buf)
		if err != nil {
			sw.fail(r, "the upstream's answer is not valid JSON")
			return
		}
		h := sw.w.Header()
		copyInto(h, sw.header)
		for _, name := range upstreamBytes {
			h.Del(name)
		}
		h.Set("Content-Length", strconv.Itoa(len(out)))
		sw.w.WriteHeader(sw.status)
		_, _ = sw.w.Write(out)
	case refused:
		sw.fail(r, sw.reason)
	}
}

func (sw *shapeWriter) fail(r *http.Request, detail string) {
	d := problem.Details{Status: http.StatusBadGateway, Type: "urn:gatescale:transform", Detail: detail}
	if info := request.InfoFrom(r.Context()); info != nil {
		d.Route, d.Upstream = info.Route, info.State().Upstream
		info.SetError("transform: " + detail)
	}
	problem.Write(sw.w, d)
}

// copyInto sets dst's fields to src's, keeping dst's others (those outer
// middleware set).
func copyInto(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = vs
	}
}
