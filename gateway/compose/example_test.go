package compose_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/compose"
)

// A composite handler over two services: the customer call uses a field of
// the order's answer, so it runs after it.
func ExampleNew() {
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"o1","customer_id":"c7"}`)
	}))
	defer orders.Close()
	customers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"Ada","path":"`+r.URL.Path+`"}`)
	}))
	defer customers.Close()
	servers := map[string]string{"orders": orders.URL, "customers": customers.URL}
	// In the gateway the transports are the upstreams' proxies; here each
	// upstream name maps to one test server.
	transports := func(upstream string) http.RoundTripper {
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			u, _ := url.Parse(servers[upstream])
			r.URL.Host = u.Host
			return http.DefaultTransport.RoundTrip(r)
		})
	}
	plan, err := compose.New("order-page", "/order-page/{id}", compose.Composite{Calls: []compose.Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}", Group: "customer"},
	}}, compose.WithTransports(transports))
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Handle("/order-page/{id}", plan)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/order-page/o1", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 {"customer":{"name":"Ada","path":"/customers/c7"},"customer_id":"c7","id":"o1"}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Validate finds what cannot work before anything runs: here a cycle.
func ExampleComposite_Validate() {
	c := compose.Composite{Calls: []compose.Call{
		{Name: "a", Upstream: "u", Path: "/a/{b.id}"},
		{Name: "b", Upstream: "u", Path: "/b/{a.id}"},
	}}
	for _, e := range c.Validate("/x", []string{"u"}) {
		fmt.Println(e)
	}
	// Output: calls[0]: calls depend on each other in a cycle: a → b → a
}

func ExamplePathParams() {
	p := compose.PathParams("/orders/{id}/lines/{n:[0-9]+}")
	fmt.Println(p["id"], p["n"], p["x"])
	// Output: true true false
}
