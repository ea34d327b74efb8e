package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatescale/gatescale/gateway/balance"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// attemptLog is a proxy.Tracer that prints each attempt and marks it in
// the attempt's own headers (package tracing sets a traceparent there).
type attemptLog struct{}

func (attemptLog) StartAttempt(out *http.Request, upstream, instance string, n int) func(int, error) {
	out.Header.Set("X-Attempt", fmt.Sprint(n))
	return func(status int, err error) { fmt.Printf("%s attempt %d: %d\n", upstream, n, status) }
}

// WithTracer sees every attempt of the loop, retries included; the
// caller's request headers are not touched.
func ExampleWithTracer() {
	calls := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "served on attempt "+r.Header.Get("X-Attempt"))
	}))
	defer backend.Close()
	u := upstream.New("users", discovery.NewStatic(map[string][]discovery.Instance{
		"users": {{Addr: strings.TrimPrefix(backend.URL, "http://")}},
	}), upstream.WithPolicy(balance.RoundRobin{}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()

	p := proxy.New(u, proxy.WithTracer(attemptLog{}), proxy.WithRetry(proxy.Retry{Attempts: 2}))
	req, _ := http.NewRequest(http.MethodGet, "http://users/", nil)
	resp, _, err := p.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body), req.Header.Get("X-Attempt") == "")
	// Output:
	// users attempt 1: 503
	// users attempt 2: 200
	// served on attempt 2 true
}
