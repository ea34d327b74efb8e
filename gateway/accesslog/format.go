package accesslog

import (
	"net"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatescale/gatescale/gateway/grpcstatus"
	"github.com/gatescale/gatescale/gateway/outcome"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/requestid"
)

// entry is what one line can say about a request, gathered once.
type entry struct {
	r        *http.Request
	end      time.Time
	duration time.Duration
	status   int
	bytes    int64
	route    string
	info     request.InfoState
	id       string
	client   string
	grpc     bool // a gRPC call, whose outcome is grpcCode
	grpcCode int
}

func gather(r *http.Request, rec *outcome.Recorder, status int, start, end time.Time) entry {
	e := entry{r: r, end: end, duration: end.Sub(start), status: status, bytes: rec.Bytes(), route: outcome.Route(r)}
	ctx := r.Context()
	if info := request.InfoFrom(ctx); info != nil {
		e.info = info.State()
		if c, ok := info.Client(); ok {
			e.client = c.Host
		}
	}
	if e.client == "" {
		e.client = r.RemoteAddr
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			e.client = h
		}
	}
	if e.id = requestid.From(ctx); e.id == "" {
		e.id = rec.Header().Get(requestid.Header)
	}
	c, ok := grpcstatus.FromHeader(rec.Header())
	e.grpcCode, e.grpc = int(c), ok
	return e
}

// failed says the request failed on the gateway's or the upstream's side:
// a 5xx, or for a gRPC call (HTTP 200 whatever happened) a grpc-status
// that is a server-side failure. Such lines are WARN and never sampled out.
func (e *entry) failed() bool {
	return e.status >= 500 || e.grpc && grpcServerFault(e.grpcCode)
}

func (e *entry) level() string {
	if e.failed() {
		return "WARN"
	}
	return "INFO"
}

// grpcServerFault: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
// UNAVAILABLE, DATA_LOSS — logged at WARN like an HTTP 5xx.
func grpcServerFault(code int) bool {
	switch code {
	case 2, 4, 12, 13, 14, 15:
		return true
	}
	return false
}

// omitted says a field has nothing to say for this request: error
// without an error, grpc_status for a call that is not gRPC.
func (e *entry) omitted(field string, s string) bool {
	switch field {
	case KeyError:
		return s == ""
	case KeyGRPCStatus:
		return !e.grpc
	}
	return false
}

// str returns the value of a string field; ok is false for a number.
func (e *entry) str(field string) (s string, ok bool) {
	switch field {
	case KeyMethod:
		return e.r.Method, true
	case KeyPath:
		return e.r.URL.Path, true
	case KeyRoute:
		return e.route, true
	case KeyUpstream:
		return e.info.Upstream, true
	case KeyInstance:
		return e.info.Instance, true
	case KeyRequestID:
		return e.id, true
	case KeyRemote:
		return e.r.RemoteAddr, true
	case KeyError:
		return e.info.Error, true
	case KeyClient:
		return e.client, true
	case KeyHost:
		return e.r.Host, true
	case KeyProto:
		return e.r.Proto, true
	case KeyUserAgent:
		return e.r.UserAgent(), true
	case KeyReferer:
		return e.r.Referer(), true
	}
	return "", false
}

func (e *entry) num(field string) int64 {
	switch field {
	case KeyAttempts:
		return int64(e.info.Attempts)
	case KeyStatus:
		return int64(e.status)
	case KeyBytes:
		return e.bytes
	case KeyDuration:
		return int64(e.duration)
	case KeyGRPCStatus:
		return int64(e.grpcCode)
	}
	return 0
}

func (st *state) appendLine(b []byte, e *entry) []byte {
	switch st.format {
	case FormatText:
		return st.appendText(b, e)
	case FormatCommon, FormatCombined:
		return appendNCSA(b, e, st.format == FormatCombined)
	}
	return st.appendJSON(b, e)
}

func (st *state) appendJSON(b []byte, e *entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.end.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, e.level()...)
	b = append(b, `","msg":"request"`...)
	for _, f := range st.fields {
		s, isStr := e.str(f)
		if e.omitted(f, s) {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, f...)
		b = append(b, '"', ':')
		if isStr {
			b = appendJSONString(b, s)
		} else {
			b = strconv.AppendInt(b, e.num(f), 10)
		}
	}
	return append(b, '}', '\n')
}

func (st *state) appendText(b []byte, e *entry) []byte {
	b = append(b, "time="...)
	b = e.end.AppendFormat(b, time.RFC3339Nano)
	b = append(b, " level="...)
	b = append(b, e.level()...)
	b = append(b, " msg=request"...)
	for _, f := range st.fields {
		s, isStr := e.str(f)
		if e.omitted(f, s) {
			continue
		}
		b = append(b, ' ')
		b = append(b, f...)
		b = append(b, '=')
		switch {
		case isStr:
			b = appendTextValue(b, s)
		case f == KeyDuration:
			b = append(b, e.duration.String()...)
		default:
			b = strconv.AppendInt(b, e.num(f), 10)
		}
	}
	return append(b, '\n')
}

// appendNCSA writes the common log format, and the combined one's referer
// and user agent when combined: %h %l %u %t "%r" %>s %b. The request line
// carries the path without its query (which may carry tokens).
func appendNCSA(b []byte, e *entry, combined bool) []byte {
	b = appendNCSAField(b, e.client)
	b = append(b, " - - ["...)
	b = e.end.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, `] "`...)
	b = appendEscaped(b, e.r.Method)
	b = append(b, ' ')
	b = appendEscaped(b, e.r.URL.Path)
	b = append(b, ' ')
	b = appendEscaped(b, e.r.Proto)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, ' ')
	if e.bytes > 0 {
		b = strconv.AppendInt(b, e.bytes, 10)
	} else {
		b = append(b, '-')
	}
	if combined {
		b = append(b, ` "`...)
		b = appendEscaped(b, e.r.Referer())
		b = append(b, `" "`...)
		b = appendEscaped(b, e.r.UserAgent())
		b = append(b, '"')
	}
	return append(b, '\n')
}

func appendNCSAField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// appendEscaped writes s for a quoted NCSA field as Apache does: ", \ and
// bytes that are not printable ASCII as \", \\ and \xHH, so a line is
// always one line and its quotes always balance.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendTextValue writes s bare when it needs no quoting, as logfmt does.
func appendTextValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
