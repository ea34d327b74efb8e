package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/request"
)

// nopWriter is a ResponseWriter that costs nothing, so the benchmark
// measures the middleware, not httptest.ResponseRecorder.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

func BenchmarkMiddleware(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("ok")
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
	// The route table puts Info in the context once per request; that is not
	// the middleware's cost, so it is done outside the loop.
	req := httptest.NewRequest("GET", "/users/1", nil)
	req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}

func BenchmarkMiddlewareSerial(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("ok")
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
	req := httptest.NewRequest("GET", "/users/1", nil)
	req = req.WithContext(request.WithInfo(req.Context(), &request.Info{Route: "users"}))
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkLabelLookup is what the per-route cache saves: the same four
// series resolved with WithLabelValues on every request.
func BenchmarkLabelLookup(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.inFlight.WithLabelValues("users").Inc()
		m.inFlight.WithLabelValues("users").Dec()
		m.requests.WithLabelValues("users", "GET", "200").Inc()
		m.duration.WithLabelValues("users", "GET").Observe(0.001)
		m.size.WithLabelValues("users").Observe(2)
	}
}
