package transform

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gatescale/gatescale/internal/mediatype"
	"github.com/gatescale/gatescale/internal/vary"
)

// Compressor compresses answers with gzip or zstd, as the client's
// Accept-Encoding allows. It is safe for concurrent use; encoders are
// pooled, since a zstd encoder costs far more to build than to reset.
type Compressor struct {
	minSize   int64
	types     []typePattern
	encodings []string
	gzipPool  sync.Pool
	zstdPool  sync.Pool
}

// zstdWindow bounds the zstd window: RFC 9659 caps it at 8 MiB for HTTP,
// and a smaller one keeps pooled encoders small while API answers (well
// under a window) lose nothing.
const zstdWindow = 1 << 20

// NewCompressor returns a Compressor. It fails with *FieldError values if
// o is not valid.
func NewCompressor(o CompressOptions) (*Compressor, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c := &Compressor{minSize: int64(o.MinSize), encodings: o.Encodings}
	if c.minSize == 0 {
		c.minSize = DefaultMinSize
	}
	if len(c.encodings) == 0 {
		c.encodings = []string{Zstd, Gzip}
	}
	types := o.Types
	if len(types) == 0 {
		types = DefaultCompressTypes
	}
	for _, t := range types {
		p, _ := parseTypePattern(t) // Validate checked them
		c.types = append(c.types, p)
	}
	gzipLevel, zstdLevel := o.GzipLevel, o.ZstdLevel
	if gzipLevel == 0 {
		gzipLevel = DefaultGzipLevel
	}
	if zstdLevel == 0 {
		zstdLevel = DefaultZstdLevel
	}
	c.gzipPool.New = func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel) // the level is valid
		return w
	}
	level := zstd.EncoderLevelFromZstd(zstdLevel)
	c.zstdPool.New = func() any {
		// One goroutine per encoder: the request's own. The options are
		// valid, so NewWriter cannot fail.
		w, _ := zstd.NewWriter(io.Discard, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(level),
			zstd.WithWindowSize(zstdWindow))
		return w
	}
	return c, nil
}

// Negotiate returns the coding to use for an Accept-Encoding header (all
// its field lines): the offered coding with the highest q-value, the
// first offered on a tie, "" (identity) if the client accepts none of
// them. q=0 refuses a coding, "*" stands for the codings not named, and
// x-gzip is gzip; an element with a malformed q-value is ignored.
func (c *Compressor) Negotiate(acceptEncoding []string) string {
	q := map[string]float64{}
	star := -1.0
	for _, line := range acceptEncoding {
		for elem := range strings.SplitSeq(line, ",") {
			name, params, _ := strings.Cut(elem, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			v, ok := qvalue(params)
			if !ok {
				continue
			}
			if name == "x-gzip" {
				name = Gzip
			}
			if name == "*" {
				star = v
			} else if _, seen := q[name]; !seen {
				q[name] = v
			}
		}
	}
	best, bestQ := "", 0.0
	for _, enc := range c.encodings {
		v, named := q[enc]
		if !named {
			v = star // -1 when there is no "*"
		}
		if v > bestQ {
			best, bestQ = enc, v
		}
	}
	return best
}

// qvalue reads the weight of one Accept-Encoding element: 1 without a q
// parameter, ok false when it is malformed (RFC 9110 §12.4.2: 0 to 1, at
// most three decimals).
func qvalue(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, false
		}
		return f, true
	}
	return 1, true
}

// Middleware compresses next's answers for clients that accept gzip or
// zstd. An answer is left alone when it is already encoded (the upstream
// compressed it), has no compressible Content-Type, is smaller than
// MinSize, is a HEAD, 204, 304 or range answer, or says
// Cache-Control: no-transform. Every answer that could be compressed says
// Vary: Accept-Encoding (once), whether or not this client's was.
// A compressed answer loses Content-Length and Accept-Ranges, and its
// strong ETag becomes weak (the bytes differ, the content does not).
// Flushes (streamed answers) flush the encoder too.
func (c *Compressor) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{w: w, c: c, enc: c.Negotiate(r.Header.Values("Accept-Encoding"))}
		completed := false
		defer func() { cw.close(completed) }()
		next.ServeHTTP(cw, r)
		completed = true
	})
}

// Modes of a compressWriter.
const (
	cwUndecided = iota // header not written yet
	cwPending          // eligible, length unknown: holding up to minSize bytes
	cwIdentity
	cwCompress
)

type compressWriter struct {
	w      http.ResponseWriter
	c      *Compressor
	enc    string // negotiated coding, "" for identity
	mode   int
	status int
	held   []byte
	zw     encoder
}

// encoder is what gzip.Writer and zstd.Encoder have in common.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

func (cw *compressWriter) Header() http.Header { return cw.w.Header() }

func (cw *compressWriter) WriteHeader(code int) {
	if cw.mode != cwUndecided {
		return
	}
	if code >= 100 && code < 200 {
		cw.w.WriteHeader(code)
		return
	}
	cw.status = code
	h := cw.w.Header()
	length, known := int64(-1), false
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
		length, known = n, true
	}
	if !cw.c.eligible(code, h) || (known && length < cw.c.minSize) {
		cw.identity()
		return
	}
	vary.Add(h, "Accept-Encoding")
	switch {
	case cw.enc == "":
		cw.identity()
	case known:
		cw.start()
	default:
		cw.mode = cwPending
	}
}

func (c *Compressor) eligible(code int, h http.Header) bool {
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusPartialContent {
		return false
	}
	if h.Get("Content-Encoding") != "" || h.Get("Content-Range") != "" {
		return false
	}
	for _, v := range h.Values("Cache-Control") {
		if strings.Contains(strings.ToLower(v), "no-transform") {
			return false
		}
	}
	mt := mediatype.Of(h.Get("Content-Type"))
	if mt == "" {
		return false
	}
	for _, p := range c.types {
		if p.match(mt) {
			return true
		}
	}
	return false
}

func (cw *compressWriter) identity() {
	cw.mode = cwIdentity
	cw.w.WriteHeader(cw.status)
}

// start sends the header of a compressed answer and readies the encoder.
func (cw *compressWriter) start() {
	h := cw.w.Header()
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	h.Set("Content-Encoding", cw.enc)
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("ETag", "W/"+et)
	}
	cw.mode = cwCompress
	cw.w.WriteHeader(cw.status)
	if cw.enc == Gzip {
		cw.zw = cw.c.gzipPool.Get().(*gzip.Writer)
	} else {
		cw.zw = cw.c.zstdPool.Get().(*zstd.Encoder)
	}
	cw.zw.Reset(cw.w)
}

func (cw *compressWriter) Write(b []byte) (int, error) {
	if cw.mode == cwUndecided {
		cw.WriteHeader(http.StatusOK)
	}
	switch cw.mode {
	case cwIdentity:
		return cw.w.Write(b)
	case cwPending:
		if int64(len(cw.held)+len(b)) < cw.c.minSize {
			cw.held = append(cw.held, b...)
			return len(b), nil
		}
		cw.start()
		if err := cw.release(); err != nil {
			return 0, err
		}
	}
	return cw.zw.Write(b)
}

// release writes the held bytes into the encoder.
func (cw *compressWriter) release() error {
	held := cw.held
	cw.held = nil
	if len(held) == 0 {
		return nil
	}
	_, err := cw.zw.Write(held)
	return err
}

// Flush sends what the handler wrote so far: a streamed answer must not
// wait for MinSize bytes or for the encoder's block to fill.
func (cw *compressWriter) Flush() {
	switch cw.mode {
	case cwUndecided:
		cw.WriteHeader(http.StatusOK)
		if cw.mode == cwPending {
			cw.start()
		}
	case cwPending:
		cw.start()
		if cw.release() != nil {
			return
		}
	}
	if cw.mode == cwCompress {
		if cw.zw.Flush() != nil {
			return
		}
	}
	_ = http.NewResponseController(cw.w).Flush()
}

// Unwrap lets http.ResponseController reach the client's writer (for
// deadlines and hijacking).
func (cw *compressWriter) Unwrap() http.ResponseWriter { return cw.w }

// close ends the answer; after a panic in the handler (completed false)
// it only gives the encoder back.
func (cw *compressWriter) close(completed bool) {
	switch cw.mode {
	case cwPending:
		if !completed {
			return
		}
		// Ended below MinSize: send it as it is, now with its length.
		cw.w.Header().Set("Content-Length", strconv.Itoa(len(cw.held)))
		cw.identity()
		_, _ = cw.w.Write(cw.held)
	case cwCompress:
		if completed {
			_ = cw.zw.Close()
		}
		cw.zw.Reset(io.Discard) // drop the reference to the ResponseWriter
		if cw.enc == Gzip {
			cw.c.gzipPool.Put(cw.zw)
		} else {
			cw.c.zstdPool.Put(cw.zw)
		}
		cw.zw = nil
	}
}
