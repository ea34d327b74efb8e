package request_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/request"
)

// On a plain chi router, TrustProxies does what a table does.
func ExampleTrustProxies() {
	r := chi.NewRouter()
	r.Use(request.TrustProxies(netip.MustParsePrefix("10.0.0.0/8")))
	r.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, request.ClientOf(r, nil).Addr)
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
	fmt.Println(request.ResolveClient(r, nil).Host)
	fmt.Println(request.ResolveClient(r, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}).Host)
	// Output:
	// 10.0.0.2
	// 198.51.100.7
}

// A record made outside a table, written by several upstream calls at once.
func ExampleNewInfo() {
	info := request.NewInfo("profile", "users", request.Client{})
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

// A handler built once, not with each route table, marks its requests so
// that recorders never take them for a removed route's late requests.
func ExampleInfo_SetOutlivesTables() {
	info := request.NewInfo("users", "users", request.Client{})
	fmt.Println(info.OutlivesTables())
	info.SetOutlivesTables()
	fmt.Println(info.OutlivesTables())
	var none *request.Info // a request no table or handler gave a record
	fmt.Println(none.OutlivesTables())
	// Output:
	// false
	// true
	// false
}

// Without a table or TrustProxies, the caller's list decides.
func ExampleClientOf() {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	fmt.Println(request.ClientOf(r, nil).Host)
	fmt.Println(request.ClientOf(r, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}).Host)
	// Output:
	// 10.0.0.2
	// 198.51.100.7
}

// EntryContext is how a route table starts a request's record: one context
// node carries the Info and the router's own value.
func ExampleEntryContext() {
	type routerKey struct{}
	req := httptest.NewRequest("GET", "/users/42", nil)
	ctx, info := request.EntryContext(req.Context(), request.ResolveClient(req, nil), routerKey{}, "router state")
	info.Route = "users"
	fmt.Println(request.InfoFrom(ctx).Route, ctx.Value(routerKey{}))
	// Output: users router state
}
