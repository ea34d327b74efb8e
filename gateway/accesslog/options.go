package accesslog

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/units"
)

// Format is how a line is written.
type Format string

// The formats. JSON and Text carry the fields of Options.Fields; Common and
// Combined are the NCSA formats that log tools parse (fields do not apply).
const (
	// FormatJSON is one JSON object per line (the default).
	FormatJSON Format = "json"
	// FormatText is logfmt: key=value pairs, as slog's text handler writes.
	FormatText Format = "text"
	// FormatCommon is the NCSA common log format:
	// client - - [time] "METHOD path PROTO" status bytes.
	FormatCommon Format = "common"
	// FormatCombined is FormatCommon followed by "referer" "user-agent".
	FormatCombined Format = "combined"
)

// Formats lists every Format, the closed set the configuration accepts.
var Formats = []Format{FormatJSON, FormatText, FormatCommon, FormatCombined}

// Keys of the values a JSON or text line can carry (Options.Fields).
const (
	KeyMethod    = "method"     // request method
	KeyPath      = "path"       // r.URL.Path; never the query, which may carry tokens
	KeyRoute     = "route"      // route name (outcome.Route)
	KeyUpstream  = "upstream"   // upstream name, from request.Info
	KeyInstance  = "instance"   // instance that served the last attempt
	KeyAttempts  = "attempts"   // upstream attempts made (retries + 1)
	KeyStatus    = "status"     // status sent (499 when the client went away)
	KeyBytes     = "bytes"      // response body bytes
	KeyDuration  = "duration"   // time in the handler: nanoseconds in json, "1.2ms" in text
	KeyRequestID = "request_id" // X-Request-Id
	KeyRemote    = "remote"     // r.RemoteAddr, the TCP peer
	KeyError     = "error"      // the gateway's reason, only when there is one
	KeyClient    = "client"     // the client's address, believing trusted proxies only
	KeyHost      = "host"       // the Host header
	KeyProto     = "proto"      // HTTP/1.1, HTTP/2.0
	KeyUserAgent = "user_agent" // User-Agent header
	KeyReferer   = "referer"    // Referer header
	// KeyGRPCStatus is the grpc-status of a gRPC call (whose HTTP status
	// is 200 whatever happened), only for those.
	KeyGRPCStatus = "grpc_status"
)

// AllFields lists every field name, the closed set Options.Fields accepts.
var AllFields = []string{
	KeyMethod, KeyPath, KeyRoute, KeyUpstream, KeyInstance, KeyAttempts, KeyStatus,
	KeyBytes, KeyDuration, KeyRequestID, KeyRemote, KeyError, KeyClient, KeyHost,
	KeyProto, KeyUserAgent, KeyReferer, KeyGRPCStatus,
}

// DefaultFields are the fields of a line when Options.Fields is empty: the
// same as Middleware writes.
var DefaultFields = []string{
	KeyMethod, KeyPath, KeyRoute, KeyUpstream, KeyInstance, KeyAttempts, KeyStatus,
	KeyBytes, KeyDuration, KeyRequestID, KeyRemote, KeyError, KeyGRPCStatus,
}

// Outputs that are not files.
const (
	OutputStderr = "stderr"
	OutputStdout = "stdout"
)

// Options configure a Log. The zero value logs every request as JSON to
// stderr with DefaultFields. The yaml tags are the keys of the access_log
// section of the gateway's file (docs/configuration.md).
type Options struct {
	// Disabled turns the access log off: requests pass through untouched.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Format is json (default), text, common or combined.
	Format Format `yaml:"format,omitempty" json:"format,omitempty"`
	// Fields are the values of a json or text line, in this order (default
	// DefaultFields); time, level and msg always come first.
	Fields []string `yaml:"fields,omitempty" json:"fields,omitempty"`
	// SampleRatio is the share of requests logged, from 0 to 1 (nil: 1).
	// Failures — a 5xx status, or a gRPC status that is the server's fault
	// (the lines at WARN level) — are always logged, so 0 logs only those.
	SampleRatio *float64 `yaml:"sample_ratio,omitempty" json:"sample_ratio,omitempty"`
	// ExcludePaths are request paths not logged (health checks): an entry
	// matches the path exactly, or, when it ends with *, every path that
	// begins with what precedes the *. Checked before anything else, so an
	// excluded request costs one map lookup.
	ExcludePaths []string `yaml:"exclude_paths,omitempty" json:"exclude_paths,omitempty"`
	// Output is stderr (default), stdout, or a file path: the file is
	// appended to, created if missing, and reopened by Reopen (on SIGHUP in
	// gatescale) so log rotation can move it away.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`
	// Buffer, when positive, collects lines in memory, up to this many
	// bytes, and writes them together: when the next line would not fit,
	// FlushInterval after the first line it took, and before the output
	// changes, is reopened or closed. At a high request rate it saves a
	// write system call per request (nginx's access_log buffer=); the
	// price is that a process killed outright loses what it held, at
	// most FlushInterval's worth. 0 (default): each line is written at
	// once. At most 16 MiB.
	Buffer units.Size `yaml:"buffer,omitempty" json:"buffer,omitempty"`
	// FlushInterval is the longest a buffered line waits (default 1s;
	// only with Buffer).
	FlushInterval units.Duration `yaml:"flush_interval,omitempty" json:"flush_interval,omitempty"`
	// Writer, if set, receives the lines instead of Output (Go only).
	// Each Write carries whole lines: one line, or with Buffer several.
	Writer io.Writer `yaml:"-" json:"-"`
}

// MaxBuffer is the largest Options.Buffer.
const MaxBuffer = 16 << 20

// DefaultFlushInterval is Options.FlushInterval's default.
const DefaultFlushInterval = time.Second

// FieldError is one problem in Options. Field is the option's path in its
// serialised form (e.g. "exclude_paths[1]"), so a configuration file can
// point at the line that holds it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate reports every problem in o as a *FieldError (joined).
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if o.Format != "" && !slices.Contains(Formats, o.Format) {
		add("format", "%q is not one of json, text, common, combined", o.Format)
	}
	seen := map[string]bool{}
	for i, f := range o.Fields {
		at := "fields[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(AllFields, f):
			add(at, "%q is not a field (valid: %s)", f, strings.Join(AllFields, ", "))
		case seen[f]:
			add(at, "%q is listed twice", f)
		}
		seen[f] = true
	}
	if len(o.Fields) > 0 && (o.Format == FormatCommon || o.Format == FormatCombined) {
		add("fields", "do not apply to format %s, whose fields are fixed (use json or text to choose them)", o.Format)
	}
	if r := o.SampleRatio; r != nil && !(*r >= 0 && *r <= 1) {
		add("sample_ratio", "%v is not between 0 and 1", *r)
	}
	for i, p := range o.ExcludePaths {
		at := "exclude_paths[" + strconv.Itoa(i) + "]"
		switch {
		case !strings.HasPrefix(p, "/"):
			add(at, "%q must begin with /", p)
		case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
			add(at, "%q: * is only allowed at the end (a prefix match)", p)
		}
	}
	if o.Buffer < 0 || o.Buffer > MaxBuffer {
		add("buffer", "%d bytes is not between 0 and 16MiB", int64(o.Buffer))
	}
	switch {
	case o.FlushInterval < 0:
		add("flush_interval", "%v is negative", o.FlushInterval)
	case o.FlushInterval > 0 && o.Buffer == 0:
		add("flush_interval", "applies only with a buffer (set buffer, e.g. 64KiB)")
	}
	if o.Output != "" && strings.TrimSpace(o.Output) != o.Output || strings.ContainsRune(o.Output, 0) {
		add("output", "%q is not stderr, stdout or a file path", o.Output)
	}
	if o.Output != "" && o.Writer != nil {
		add("output", "is not used with a Writer")
	}
	return errors.Join(errs...)
}
