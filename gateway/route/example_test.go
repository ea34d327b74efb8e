package route_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/route"
)

func ExampleNewTable() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s -> %s", route.InfoFrom(r.Context()).Route, r.URL.Path)
	})
	tbl, err := route.NewTable([]route.Route{
		{Name: "user", Path: "/users/{id}", Methods: []string{"GET"}, Rewrite: "/v2/users/{id}", Handler: echo},
		{Name: "static", PathPrefix: "/static", StripPrefix: "/static", Handler: echo},
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
	tbl, _ := route.NewTable([]route.Route{{Name: "whoami", Path: "/whoami",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, route.ClientOf(r, nil).Host)
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

// On a plain chi router, TrustProxies does what a table does.
func ExampleTrustProxies() {
	r := chi.NewRouter()
	r.Use(route.TrustProxies(netip.MustParsePrefix("10.0.0.0/8")))
	r.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, route.ClientOf(r, nil).Addr)
	})
	req := httptest.NewRequest("GET", "/whoami", nil)
	req.RemoteAddr = "10.0.0.2:4000"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Body)
	// Output: 198.51.100.7
}

func ExampleResolveClient() {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:4000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	fmt.Println(route.ResolveClient(r, nil).Host)
	fmt.Println(route.ResolveClient(r, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}).Host)
	// Output:
	// 10.0.0.2
	// 198.51.100.7
}

// A record made outside a table, written by several upstream calls at once.
func ExampleNewInfo() {
	info := route.NewInfo("profile", "users", route.Client{})
	var wg sync.WaitGroup
	for _, addr := range []string{"10.0.0.5:80", "10.0.0.6:80"} {
		wg.Go(func() {
			info.SetInstance(addr)
			info.AddAttempts(1)
		})
	}
	wg.Wait()
	st := info.State()
	fmt.Println(info.Route, st.Upstream, st.Attempts)
	// Output: profile users 2
}

// Without a table or TrustProxies, the caller's list decides.
func ExampleClientOf() {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	fmt.Println(route.ClientOf(r, nil).Host)
	fmt.Println(route.ClientOf(r, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}).Host)
	// Output:
	// 10.0.0.2
	// 198.51.100.7
}
