package outcome

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// Recorder is an http.ResponseWriter that records the status and the body
// size of the response it passes through. It is not safe for concurrent
// writes, exactly like the http.ResponseWriter it wraps.
type Recorder struct {
	w        http.ResponseWriter
	bytes    int64
	status   int32 // with hijacked, fits the 32-byte size class: one per request
	hijacked bool
}

// Wrap returns w itself if it is already a *Recorder, otherwise a new
// Recorder around w. Reusing means stacked middleware count one response
// once, and the handler keeps a single wrapper between it and the server.
func Wrap(w http.ResponseWriter) *Recorder {
	if rec, ok := w.(*Recorder); ok {
		return rec
	}
	return &Recorder{w: w}
}

// Status returns the final status code written so far, or 0 if none was.
// Informational 1xx responses other than 101 are not final and are not
// recorded.
func (rec *Recorder) Status() int { return int(rec.status) }

// Bytes returns the number of response body bytes written.
func (rec *Recorder) Bytes() int64 { return rec.bytes }

// Hijacked reports whether the handler took over the connection.
func (rec *Recorder) Hijacked() bool { return rec.hijacked }

// Unwrap returns the wrapped writer; http.ResponseController uses it to find
// SetReadDeadline, SetWriteDeadline and EnableFullDuplex.
func (rec *Recorder) Unwrap() http.ResponseWriter { return rec.w }

// Header implements http.ResponseWriter.
func (rec *Recorder) Header() http.Header { return rec.w.Header() }

// WriteHeader implements http.ResponseWriter.
func (rec *Recorder) WriteHeader(code int) {
	// 1xx (103 Early Hints, 100 Continue) may be followed by the real status;
	// 101 ends HTTP on the connection, so it is final.
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols || code < 100) {
		rec.status = int32(code)
	}
	rec.w.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (rec *Recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK // what net/http sends on the first Write
	}
	n, err := rec.w.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// ReadFrom lets io.Copy reach the server's ReadFrom (sendfile for files).
func (rec *Recorder) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := rec.w.(io.ReaderFrom)
	if !ok {
		// writerOnly hides ReadFrom so io.Copy does not recurse into it.
		return io.Copy(writerOnly{rec}, src)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rf.ReadFrom(src)
	rec.bytes += n
	return n, err
}

type writerOnly struct{ io.Writer }

// Flush implements http.Flusher. Errors are dropped, as the interface
// requires; http.ResponseController uses FlushError instead.
func (rec *Recorder) Flush() { _ = rec.FlushError() }

// FlushError flushes the wrapped writer, reporting when it cannot.
func (rec *Recorder) FlushError() error {
	if rec.status == 0 {
		rec.status = http.StatusOK // flushing sends the header
	}
	switch f := rec.w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(rec.w).Flush()
}

// Hijack implements http.Hijacker. It fails with http.ErrNotSupported when
// the writer underneath cannot be hijacked (HTTP/2).
func (rec *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	var (
		c   net.Conn
		brw *bufio.ReadWriter
		err error
	)
	if h, ok := rec.w.(http.Hijacker); ok {
		c, brw, err = h.Hijack()
	} else {
		c, brw, err = http.NewResponseController(rec.w).Hijack()
	}
	if err == nil {
		rec.hijacked = true
	}
	return c, brw, err
}
