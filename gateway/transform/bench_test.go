package transform

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// doc returns a JSON answer of about n KiB: an object with an array of
// items, each with nested fields.
func doc(kib int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":1,"user":{"name":"Ada","email":"ada@example.com"},"items":[`)
	for i := 0; b.Len() < kib<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"title":"item %d","price":%d.5,"secret":"s%d","tags":["a","b"],"meta":{"w":1,"h":2}}`, i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkTransform measures the middleware's cost for a mobile shape
// (pick, allow, rename) against answers of several sizes; ns/KB is the
// overhead per KiB of JSON.
func BenchmarkTransform(b *testing.B) {
	t, err := New(Rules{Header: "X-Client-Type", MaxBodySize: 8 << 20, ClientTypes: []ClientType{{
		Name:   "mobile",
		Pick:   []Pick{{Path: "items", First: 50}},
		Allow:  []string{"id", "user.name", "items[].id", "items[].title", "items[].meta"},
		Rename: map[string]string{"items[].title": "t"},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, kib := range []int{1, 16, 256} {
		body := doc(kib)
		up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		})
		for _, mode := range []string{"passthrough", "mobile"} {
			b.Run(fmt.Sprintf("%dKiB/%s", kib, mode), func(b *testing.B) {
				h := t.Middleware(up)
				req := httptest.NewRequest("GET", "/", nil)
				if mode == "mobile" {
					req.Header.Set("X-Client-Type", "mobile")
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					rec := &discard{header: http.Header{}}
					h.ServeHTTP(rec, req)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(len(body))/1024), "ns/KB")
			})
		}
	}
}

type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { return io.Discard.Write(b) }

// BenchmarkCompress: gzip and zstd of a 64 KiB JSON answer, with pooled
// encoders.
func BenchmarkCompress(b *testing.B) {
	c, err := NewCompressor(CompressOptions{})
	if err != nil {
		b.Fatal(err)
	}
	body := doc(64)
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	for _, enc := range []string{Gzip, Zstd} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Accept-Encoding", enc)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(&discard{header: http.Header{}}, req)
			}
		})
	}
}
