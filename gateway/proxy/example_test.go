package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/proxy"
	"github.com/gatescale/gatescale/gateway/upstream"
)

// A proxy used alone, without a route table: one instance refuses
// connections and the retry sends the request to the other.
func ExampleNew() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the backend")
	}))
	defer backend.Close()
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()

	u := upstream.New("hello", discovery.NewStatic(map[string][]discovery.Instance{
		"hello": {{Addr: deadAddr}, {Addr: strings.TrimPrefix(backend.URL, "http://")}},
	}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()

	p := proxy.New(u, proxy.WithRetry(proxy.Retry{Attempts: 2, Budget: proxy.NewBudget(0.2, 10)}))
	for range 2 {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 hello from the backend
	// 200 hello from the backend
}

func ExampleLimitBody() {
	h := proxy.LimitBody(10)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader("more than ten bytes")))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 413 application/problem+json
}
