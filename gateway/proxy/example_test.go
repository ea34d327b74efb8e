package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/balance"
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

// Do is one call for a caller that reads the answer itself (a composite
// route merging several): the first instance refuses the connection and
// the retry goes to the other.
func ExampleProxy_Do() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":7}`)
	}))
	defer backend.Close()
	dead := httptest.NewServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	u := upstream.New("users", discovery.NewStatic(map[string][]discovery.Instance{
		"users": {{Addr: deadAddr}, {Addr: strings.TrimPrefix(backend.URL, "http://")}},
	}), upstream.WithPolicy(balance.RoundRobin{}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()

	p := proxy.New(u, proxy.WithRetry(proxy.Retry{Attempts: 2}))
	req, _ := http.NewRequest("GET", "http://users/users/7", nil)
	for range 2 { // round robin: at least one call meets the dead instance first
		resp, res, err := p.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close() // releases the instance
		fmt.Println(res.Status, string(body), res.Instance == strings.TrimPrefix(backend.URL, "http://"))
	}
	// Output:
	// 200 {"id":7} true
	// 200 {"id":7} true
}

// RoundTrip makes a Proxy the transport of an http.Client; a failed call
// returns a *proxy.Error carrying the Result.
func ExampleProxy_RoundTrip() {
	u := upstream.New("users", discovery.NewStatic(map[string][]discovery.Instance{"users": nil}))
	u.Start(context.Background())
	defer u.Close()
	<-u.Ready()

	client := &http.Client{Transport: proxy.New(u)}
	_, err := client.Get("http://users/users/7")
	var perr *proxy.Error
	fmt.Println(errors.As(err, &perr), errors.Is(err, balance.ErrNoInstances), perr.Result.Reason)
	// Output: true true no healthy instances
}

// The gateway's transport used on its own: plain HTTP/1.1 requests go over
// its pooled connections, anything else through the http.Transport given.
func ExampleNewHTTP1Transport() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer backend.Close()

	tr := proxy.NewHTTP1Transport(proxy.NewTransport())
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, path := range []string{"/a", "/b"} {
		resp, err := client.Get(backend.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 hello /a
	// 200 hello /b
}

// A failure seen once the deadline has passed by the clock is the
// deadline's, even before the context's timer has cancelled it.
func ExamplePastDeadline() {
	fmt.Println(proxy.PastDeadline(context.Background()))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	fmt.Println(proxy.PastDeadline(ctx))
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	fmt.Println(proxy.PastDeadline(ctx))
	// Output:
	// false
	// true
	// false
}

// The transport's tuning, for a gateway rather than a browser: a large idle
// pool per upstream, no HTTP_PROXY, bounded handshakes, and bodies passed
// through compressed or not as the upstream sent them.
func ExampleNewTransport() {
	tr := proxy.NewTransport()
	defer tr.CloseIdleConnections()
	fmt.Println(tr.MaxIdleConnsPerHost, tr.Proxy == nil, tr.TLSHandshakeTimeout, tr.DisableCompression, tr.ForceAttemptHTTP2)

	// A Proxy's default transport is NewHTTP1Transport(NewTransport());
	// WithTransport replaces it, e.g. with this one after changing a field.
	// Output: 512 true 5s true false
}

// A budget of 20% of requests and no floor: after ten requests two retries
// fit and the third does not. A Retry with this Budget stops retrying there.
func ExampleNewBudget() {
	b := proxy.NewBudget(0.2, 0)
	for range 10 {
		b.Request()
	}
	fmt.Println(b.Withdraw(), b.Withdraw(), b.Withdraw())

	// The floor lets a quiet upstream still retry: 0.3 per second is 3
	// retries over the 10-second window, with no requests counted.
	quiet := proxy.NewBudget(0.2, 0.3)
	fmt.Println(quiet.Withdraw(), quiet.Withdraw(), quiet.Withdraw(), quiet.Withdraw())
	// Output:
	// true true false
	// true true true false
}

func ExampleTrailerBody() {
	// A client's request whose trailers the server fills in when its body
	// ends; only X-Checksum may go upstream.
	in := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("payload"))
	in.Trailer = http.Header{"X-Checksum": nil, "X-Forwarded-For": nil}
	out, _ := http.NewRequest(http.MethodPost, "http://upstream.example/", nil)
	out.Trailer = http.Header{"X-Checksum": nil} // declared, sent after the body
	out.Body = proxy.TrailerBody(in.Body, in.Trailer, out.Trailer)

	in.Trailer.Set("X-Checksum", "c0ffee") // what the server does at the body's end
	in.Trailer.Set("X-Forwarded-For", "203.0.113.9")
	body, _ := io.ReadAll(out.Body) // what the transport does before sending trailers
	fmt.Println(string(body), out.Trailer)
	// Output: payload map[X-Checksum:[c0ffee]]
}

func ExampleSetForwarded() {
	// A client (not a trusted proxy) that claims to forward for another
	// address; the gateway calls a backend on its behalf.
	in := httptest.NewRequest(http.MethodGet, "http://shop.example/order-page/1", nil)
	in.RemoteAddr = "203.0.113.9:50000"
	in.Header.Set("X-Forwarded-For", "6.6.6.6")
	call, _ := http.NewRequest(http.MethodGet, "http://orders/orders/1", nil)
	proxy.SetForwarded(in, call.Header)
	fmt.Println(call.Header.Get("X-Forwarded-For"), call.Header.Get("X-Forwarded-Host"), call.Header.Get("X-Forwarded-Proto"))
	fmt.Println(call.Header.Get("Forwarded"))
	// Output:
	// 203.0.113.9 shop.example http
	// for=203.0.113.9;host=shop.example;proto=http
}
