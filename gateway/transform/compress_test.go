package transform

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestNegotiate(t *testing.T) {
	c, err := NewCompressor(CompressOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gzipFirst, _ := NewCompressor(CompressOptions{Encodings: []string{Gzip, Zstd}})
	for _, tc := range []struct {
		accept []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"gzip"}, Gzip},
		{[]string{"zstd"}, Zstd},
		{[]string{"gzip, zstd"}, Zstd}, // tie: the server's order
		{[]string{"gzip, deflate, br, zstd"}, Zstd},
		{[]string{"gzip;q=1.0, zstd;q=0.5"}, Gzip},
		{[]string{"gzip;q=0.5", "zstd;q=0.8"}, Zstd}, // several field lines
		{[]string{"GZIP"}, Gzip},
		{[]string{"x-gzip"}, Gzip},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"gzip;q=0, zstd;q=0"}, ""},
		{[]string{"identity"}, ""},
		{[]string{"br"}, ""},
		{[]string{"*"}, Zstd},
		{[]string{"*;q=0.5, zstd;q=0"}, Gzip},
		{[]string{"*;q=0"}, ""},
		{[]string{"gzip;q=0.001"}, Gzip},
		{[]string{"gzip;q=2, zstd;q=0.1"}, Zstd}, // malformed q: ignored
		{[]string{"gzip;q=abc"}, ""},
		{[]string{"gzip ; Q=0.7 , zstd;q=0.6"}, Gzip},
		{[]string{"gzip;level=1"}, Gzip},
		{[]string{"zstd;q=0, zstd;q=1"}, ""}, // the first occurrence counts
	} {
		if got := c.Negotiate(tc.accept); got != tc.want {
			t.Errorf("Negotiate(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
	if got := gzipFirst.Negotiate([]string{"zstd, gzip"}); got != Gzip {
		t.Errorf("with gzip preferred: %q", got)
	}
}

func decode(t *testing.T, enc string, body []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return string(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	return string(b)
}

func TestCompress(t *testing.T) {
	c, err := NewCompressor(CompressOptions{MinSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	large := strings.Repeat(`{"hello":"world"},`, 100)
	for _, tc := range []struct {
		name     string
		accept   string
		ctype    string
		body     string
		header   []string // upstream response header
		length   bool     // upstream sends Content-Length
		wantEnc  string
		wantVary bool
	}{
		{name: "gzip", accept: "gzip", ctype: "application/json", body: large, length: true, wantEnc: Gzip, wantVary: true},
		{name: "zstd", accept: "gzip, zstd", ctype: "application/json", body: large, length: true, wantEnc: Zstd, wantVary: true},
		{name: "chunked", accept: "zstd", ctype: "text/html; charset=utf-8", body: large, wantEnc: Zstd, wantVary: true},
		{name: "identity", accept: "identity", ctype: "application/json", body: large, length: true, wantVary: true},
		{name: "no accept-encoding", accept: "", ctype: "application/json", body: large, length: true, wantVary: true},
		{name: "q=0", accept: "gzip;q=0, zstd;q=0", ctype: "application/json", body: large, wantVary: true},
		{name: "+json", accept: "gzip", ctype: "application/problem+json", body: large, wantEnc: Gzip, wantVary: true},
		{name: "already compressed", accept: "gzip", ctype: "application/json", body: large,
			header: []string{"Content-Encoding", "br"}, wantEnc: "br"},
		{name: "not compressible", accept: "gzip", ctype: "image/png", body: large},
		{name: "no content type", accept: "gzip", ctype: "", body: large},
		{name: "small, known length", accept: "gzip", ctype: "application/json", body: `{"a":1}`, length: true},
		// The proxy flushes an answer of unknown length after every read, and
		// a flush commits to compressing: it may be a stream.
		{name: "small, chunked", accept: "gzip", ctype: "application/json", body: `{"a":1}`, wantEnc: Gzip, wantVary: true},
		{name: "no-transform", accept: "gzip", ctype: "application/json", body: large, header: []string{"Cache-Control", "no-transform"}},
		{name: "vary kept once", accept: "gzip", ctype: "application/json", body: large, length: true,
			header: []string{"Vary", "accept-encoding"}, wantEnc: Gzip, wantVary: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := front(t, c.Middleware, func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing
				}
				w.Header().Set("ETag", `"abc"`)
				for i := 0; i+1 < len(tc.header); i += 2 {
					w.Header().Set(tc.header[i], tc.header[i+1])
				}
				if tc.length {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)))
				}
				// Small writes, so the undecided path buffers across them.
				for i := 0; i < len(tc.body); i += 40 {
					io.WriteString(w, tc.body[i:min(i+40, len(tc.body))])
				}
				if !tc.length {
					w.(http.Flusher).Flush() // chunked, even when small
				}
			})
			a := get(t, srv, "/", "Accept-Encoding", tc.accept)
			if a.code != 200 {
				t.Fatalf("status %d", a.code)
			}
			if got := a.header.Get("Content-Encoding"); got != tc.wantEnc {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.wantEnc)
			}
			if tc.wantEnc == Gzip || tc.wantEnc == Zstd {
				if got := decode(t, tc.wantEnc, []byte(a.body)); got != tc.body {
					t.Fatalf("decoded %d bytes, want %d", len(got), len(tc.body))
				}
				if len(a.body) >= len(tc.body) && len(tc.body) > 100 {
					t.Fatalf("compressed %d bytes to %d", len(tc.body), len(a.body))
				}
				if a.header.Get("ETag") != `W/"abc"` {
					t.Fatalf("ETag %q", a.header.Get("ETag"))
				}
			} else {
				if a.body != tc.body {
					t.Fatalf("body changed")
				}
				if a.header.Get("ETag") != `"abc"` || (tc.length && a.header.Get("Content-Length") != strconv.Itoa(len(tc.body))) {
					t.Fatalf("ETag %q Content-Length %q", a.header.Get("ETag"), a.header.Get("Content-Length"))
				}
			}
			vary := a.header.Values("Vary")
			if tc.wantVary && (len(vary) != 1 || !strings.EqualFold(vary[0], "Accept-Encoding")) {
				t.Fatalf("Vary %q, want one Accept-Encoding", vary)
			}
			if !tc.wantVary && len(vary) != 0 {
				t.Fatalf("Vary %q, want none", vary)
			}
		})
	}
}

// A handler that writes less than MinSize without a length or a flush gets
// it sent as it is, with its length; its Vary still says Accept-Encoding,
// since a longer answer would have been compressed.
func TestCompressSmallUnknownLength(t *testing.T) {
	c, _ := NewCompressor(CompressOptions{})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"a":`)
		io.WriteString(w, `1}`)
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(rec, req)
	if rec.Body.String() != `{"a":1}` || rec.Header().Get("Content-Length") != "7" || rec.Header().Get("Content-Encoding") != "" ||
		rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("%q %v", rec.Body, rec.Header())
	}
}

// A streamed answer is compressed and still streams: each flushed chunk
// can be decoded before the next is written.
func TestCompressStreaming(t *testing.T) {
	c, err := NewCompressor(CompressOptions{Types: []string{"text/*"}})
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan struct{})
	srv := front(t, c.Middleware, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			io.WriteString(w, "line "+strconv.Itoa(i)+"\n")
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-time.After(5 * time.Second):
				return
			}
		}
	})
	for _, enc := range []string{Gzip, Zstd} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != enc {
			t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		var zr io.Reader
		if enc == Gzip {
			zr, err = gzip.NewReader(resp.Body)
		} else {
			var d *zstd.Decoder
			d, err = zstd.NewReader(resp.Body)
			zr = d
			defer d.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(zr)
		for i := range 3 {
			line, err := rd.ReadString('\n')
			if err != nil || line != "line "+strconv.Itoa(i)+"\n" {
				t.Fatalf("%s line %d: %q %v", enc, i, line, err)
			}
			next <- struct{}{}
		}
		resp.Body.Close()
	}
}

func TestCompressOptionsValidate(t *testing.T) {
	err := CompressOptions{MinSize: -1, Types: []string{"text", "*/json", "te*t/html"}, Encodings: []string{"br", Gzip, Gzip}, GzipLevel: 10, ZstdLevel: -1}.Validate()
	want := []string{
		"min_size: must be positive (omit it for the default 1024)",
		`types[0]: "text" is not a media type (type/subtype, type/* or */*+suffix)`,
		`types[1]: "*/json": wildcards are type/* or */*+suffix only`,
		`types[2]: "te*t/html": wildcards are type/* or */*+suffix only`,
		`encodings[0]: must be "gzip" or "zstd", not "br"`,
		`encodings[2]: "gzip" is listed twice`,
		"gzip_level: must be between 1 and 9",
		"zstd_level: must be between 1 and 22",
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		got = append(got, e.(*FieldError).Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
