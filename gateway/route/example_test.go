package route_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

func ExampleNewTable() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s -> %s", request.InfoFrom(r.Context()).Route, r.URL.Path)
	})
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "user", Path: "/users/{id}", Methods: []string{"GET"}, Rewrite: "/v2/users/{id}"}, Handler: echo},
		{Route: spec.Route{Name: "static", PathPrefix: "/static", StripPrefix: "/static"}, Handler: echo},
	})
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/users/7", "/static/css/site.css"} {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Println(rec.Body.String())
	}
	fmt.Println(tbl.Find(chi.NewRouteContext(), "", "DELETE", "/users/7") == nil)
	// Output:
	// user -> /v2/users/7
	// static -> /css/site.css
	// true
}

// A table decides each request's client once, with its trusted proxies;
// everything downstream asks ClientOf.
func ExampleWithTrustedProxies() {
	lb := netip.MustParsePrefix("10.0.0.0/8")
	tbl, _ := route.NewTable([]route.Route{{Route: spec.Route{Name: "whoami", Path: "/whoami"}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, request.ClientOf(r, nil).Host)
	})}}, route.WithTrustedProxies(lb))
	for _, peer := range []string{"10.0.0.2:4000", "203.0.113.9:4000"} {
		r := httptest.NewRequest("GET", "/whoami", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, r)
		fmt.Println(peer, "->", rec.Body)
	}
	// Output:
	// 10.0.0.2:4000 -> 198.51.100.7
	// 203.0.113.9:4000 -> 203.0.113.9
}

// Refused requests (a malformed path) go through their own chain: here the
// access-log stand-in sees only the routed request, the refusal chain only
// the refused one.
func ExampleWithRefusedMiddleware() {
	mark := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r)
				fmt.Println(name, r.URL.EscapedPath(), request.InfoFrom(r.Context()).Route)
			})
		}
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tbl, _ := route.NewTable([]route.Route{{Route: spec.Route{Name: "files", PathPrefix: "/files"}, Handler: ok}},
		route.WithMiddleware(mark("access")), route.WithRefusedMiddleware(mark("refused")))
	for _, target := range []string{"/files/a", "/files/a%2Fb"} {
		tbl.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	// Output:
	// access /files/a files
	// refused /files/a%2Fb (refused)
}

// A route with a CORS policy answers the preflights of the methods it
// serves, though it does not list OPTIONS (a policy without AllowMethods
// allows the route's methods); its guards answer preflights as any
// request, before the policy.
func ExampleRoute_cors() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "served") })
	closed := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "closed", http.StatusGone) })
	}
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "orders", Path: "/orders", Methods: []string{"PUT"},
			CORS: &cors.Options{AllowOrigins: []string{"https://shop.example.com"}}}, Handler: echo},
		{Route: spec.Route{Name: "old", Path: "/old", Methods: []string{"PUT"},
			CORS: &cors.Options{AllowOrigins: []string{"*"}, AllowMethods: []string{"PUT"}}},
			Guards: []func(http.Handler) http.Handler{closed}, Handler: echo},
	})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/orders", "/old"} {
		r := httptest.NewRequest(http.MethodOptions, path, nil)
		r.Header.Set("Origin", "https://shop.example.com")
		r.Header.Set("Access-Control-Request-Method", "PUT")
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, r)
		fmt.Println(path, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Methods"))
	}
	// Output:
	// /orders 204 https://shop.example.com PUT
	// /old 410
}
